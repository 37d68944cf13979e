from mmdet.models.dense_heads import RetinaHead
from mmdet.registry import MODELS

from .whole_minibatch import WholeMinibatchLossMixin


@MODELS.register_module()
class APLossRetinaHead(WholeMinibatchLossMixin, RetinaHead):
    """RetinaNet head whose classification loss sees the whole minibatch at once.

    mmdet's ``RetinaHead`` calls ``loss_cls`` once per FPN level. AP-Loss (Chen et al., CVPR 2019)
    ranks every (anchor, class) entry of every level and image in ONE ranking, so this head
    concatenates all levels and images and calls ``loss_cls`` once: with ``APLoss`` the positive
    anchor's class is a positive, its other classes and every class of a background anchor are
    negatives, and anchors the assigner ignores (label weight 0) are left out. The box loss is
    ``loss_bbox`` over all positive anchors, normalised by their number as in mmdet.

    Under distributed training the ranking spans the images of every process (``APLoss``'s
    default ``ranking='global'``) and the box loss is normalised by the mean positive count over
    the processes: training on W processes of B images each is training on one minibatch of W x B
    images, as in the paper.

    Config (the rest as ``RetinaHead``)::

        bbox_head=dict(type='APLossRetinaHead', num_classes=80, in_channels=256,
                       loss_cls=dict(type='APLoss', use_sigmoid=True, delta=1.0, loss_weight=1.0),
                       loss_bbox=dict(type='SmoothL1Loss', beta=0.11, loss_weight=1.0))

    With a per-entry ``loss_cls`` (focal loss, say) the result equals ``RetinaHead``'s.
    """
