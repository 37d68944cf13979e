from mmdet.models.dense_heads import SSDHead
from mmdet.registry import MODELS
from mmdet.utils import ConfigType

from .whole_minibatch import WholeMinibatchLossMixin


@MODELS.register_module()
class APLossSSDHead(WholeMinibatchLossMixin, SSDHead):
    """SSD head with sigmoid class scores, trained by a whole-minibatch classification loss.

    mmdet's ``SSDHead`` predicts a background channel and hard-codes softmax cross-entropy with
    hard-negative mining and smooth L1. This head predicts one score per class (no background
    channel; ``predict`` uses sigmoid scores), mines no negatives, and builds ``loss_cls`` (AP-Loss
    by default, ranking every (anchor, class) entry of every level and image together, as in the
    AP-Loss paper's SSD experiments) and ``loss_bbox`` from the config.

    Under distributed training the ranking spans the images of every process (``APLoss``'s
    default ``ranking='global'``) and the box loss is normalised by the mean positive count over
    the processes: training on W processes of B images each is training on one minibatch of W x B
    images, as in the paper.

    Config (the rest as ``SSDHead``; ``train_cfg.neg_pos_ratio`` is not used)::

        bbox_head=dict(type='APLossSSDHead', num_classes=20,
                       loss_cls=dict(type='APLoss', use_sigmoid=True, delta=1.0, loss_weight=1.0),
                       loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))

    Args:
        loss_cls (dict): Classification loss on sigmoid scores. Default APLoss.
        loss_bbox (dict): Box loss. Default smooth L1 with beta 1, as SSD's.
        *args, **kwargs: As ``SSDHead``.
    """

    def __init__(self, *args,
                 loss_cls: ConfigType = dict(type='APLoss', use_sigmoid=True, loss_weight=1.0),
                 loss_bbox: ConfigType = dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0),
                 **kwargs) -> None:
        if not loss_cls.get('use_sigmoid', False):
            raise ValueError('APLossSSDHead predicts sigmoid class scores: loss_cls needs '
                             f'use_sigmoid=True, got {loss_cls!r}')
        super().__init__(*args, **kwargs)
        self.use_sigmoid_cls = True
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_bbox = MODELS.build(loss_bbox)

    def _init_layers(self) -> None:
        # SSDHead.__init__ sets a background channel just before building its layers.
        self.cls_out_channels = self.num_classes
        super()._init_layers()
