from mmdet.models.dense_heads import AnchorHead, SSDHead
from mmdet.registry import MODELS
from mmdet.utils import ConfigType

from ..ranking_heads import register_ranking_head


@register_ranking_head
@MODELS.register_module()
class SigmoidSSDHead(SSDHead):
    """SSD head with one sigmoid score per class and its losses from the config, without hard
    negative mining: what the AP-Loss paper's SSD experiments train (sec. 4).

    mmdet's ``SSDHead`` predicts a background channel and hard-codes softmax cross-entropy with
    hard-negative mining and smooth L1. This head predicts C scores (``predict`` uses their
    sigmoid) and computes its losses as ``AnchorHead`` does, level by level over every anchor the
    assigner does not ignore: with a ranking ``loss_cls`` (AP-Loss by default) the levels and images
    of a step form one ranking (mmdet_losses.models.ranking_heads).

    Config (the rest as ``SSDHead``; ``train_cfg.neg_pos_ratio`` is not used)::

        bbox_head=dict(type='SigmoidSSDHead', num_classes=20,
                       loss_cls=dict(type='APLoss', use_sigmoid=True, delta=1.0, loss_weight=1.0),
                       loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))

    Args:
        loss_cls (dict): Classification loss on sigmoid scores. Default APLoss.
        loss_bbox (dict): Box loss. Default smooth L1 with beta 1, as SSD's.
        *args, **kwargs: As ``SSDHead``.
    """

    loss_by_feat = AnchorHead.loss_by_feat
    loss_by_feat_single = AnchorHead.loss_by_feat_single

    def __init__(self, *args,
                 loss_cls: ConfigType = dict(type='APLoss', use_sigmoid=True, loss_weight=1.0),
                 loss_bbox: ConfigType = dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0),
                 **kwargs) -> None:
        if not loss_cls.get('use_sigmoid', False):
            raise ValueError(f'{type(self).__name__} predicts sigmoid class scores: loss_cls needs '
                             f'use_sigmoid=True, got {loss_cls!r}')
        super().__init__(*args, **kwargs)
        self.use_sigmoid_cls = True
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_bbox = MODELS.build(loss_bbox)

    def _init_layers(self) -> None:
        # SSDHead.__init__ sets a background channel just before building its layers.
        self.cls_out_channels = self.num_classes
        super()._init_layers()


@MODELS.register_module()
class APLossSSDHead(SigmoidSSDHead):
    """``SigmoidSSDHead`` under the name that configs written before it use (their checkpoints
    load unchanged)."""
