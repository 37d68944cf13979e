import torch
from mmdet.registry import MODELS

from ...functional import auc_loss
from .ranking_loss import RankingLoss


@MODELS.register_module()
class AUCLoss(RankingLoss):
    """AUC-Loss as an mmdet classification loss: the smoothed fraction of wrongly ordered (positive,
    negative) entry pairs of one ranking, trained by its error-driven update (see
    :func:`mmdet_losses.functional.auc_loss`). The AP-Loss paper's baseline ranking loss (its SSD512
    VOC07 table); like ``APLoss`` it ranks every entry of a head's step as one::

        bbox_head=dict(type='SigmoidSSDHead',
                       loss_cls=dict(type='AUCLoss', use_sigmoid=True, delta=1.0, loss_weight=1.0))

    Args:
        use_sigmoid (bool): Must be True (per-class scores, no background channel).
        delta (float): Half-width of the linear part of the step function; > 0. Default 1.0.
        loss_weight (float): Multiplies the loss. Default 1.0.
        ranking (str): ``'global'`` (one ranking across the processes of a distributed run) or
            ``'local'``, as for ``APLoss``. Default ``'global'``.
    """

    uses_ranking_ops = True

    def __init__(self, use_sigmoid: bool = True, delta: float = 1.0, loss_weight: float = 1.0,
                 ranking: str = 'global'):
        super().__init__(use_sigmoid, loss_weight, ranking)
        if not delta > 0:
            raise ValueError(f'AUCLoss: delta must be > 0, got {delta!r}')
        self.delta = float(delta)

    def loss(self, cls_score: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return auc_loss(cls_score, targets, self.delta, group=self.group())
