from mmdet.models.dense_heads import RetinaHead
from mmdet.registry import MODELS


@MODELS.register_module()
class APLossRetinaHead(RetinaHead):
    """mmdet's ``RetinaHead``, under the name that configs written before ranking losses worked in
    stock heads use (their checkpoints load unchanged). ``RetinaHead`` with a ranking
    ``loss_cls`` now ranks every level and image of a step as one (mmdet_losses.models.ranking_heads):
    write ``type='RetinaHead'`` in new configs."""
