from typing import Optional, Tuple

import torch
from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from mmdet.registry import MODELS
from mmdet.utils import ConfigType
from torch import Tensor

from ..losses import RankingLoss
from ..ranking_heads import RankingCalls, register_ranking_head
from .value_balance import positive_entries, value_balanced_losses


@register_ranking_head(calls=RankingCalls(method=None, passes_quality=True, roi=True))
@MODELS.register_module()
class ValueBalancedBBoxHead(Shared2FCBBoxHead):
    """RoI box head of the Rank & Sort paper's RS-R-CNN (Oksuz et al., ICCV 2021, sec. 5): C
    sigmoid scores without a background channel, one classification loss over every RoI of every
    image (the config keeps every proposal and adds the ground truths), each positive's target the
    IoU of its decoded box for its class, and a score-weighted box loss balanced against it by
    value (see ``value_balanced_losses``); logged as ``loss_rank``, ``loss_sort``, ``loss_bbox`` and
    ``acc`` (top-class accuracy over the foreground RoIs).

    Config (the rest as ``Shared2FCBBoxHead``)::

        bbox_head=dict(type='ValueBalancedBBoxHead', in_channels=256, fc_out_channels=1024, roi_feat_size=7,
                       num_classes=80, bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                                                       target_stds=[0.1, 0.1, 0.2, 0.2]),
                       reg_class_agnostic=False,
                       loss_cls=dict(type='RankSortLoss', use_sigmoid=True, delta=0.5),
                       loss_bbox=dict(type='GIoULoss', loss_weight=1.0))

    Args:
        loss_cls (dict): A ranking loss on sigmoid scores (``RankSortLoss``, the paper's).
        *args, **kwargs: As ``Shared2FCBBoxHead``; boxes are regressed decoded (``reg_decoded_bbox``).
    """

    def __init__(self, *args,
                 loss_cls: ConfigType = dict(type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0),
                 loss_bbox: ConfigType = dict(type='GIoULoss', loss_weight=1.0), **kwargs) -> None:
        super().__init__(*args, loss_cls=loss_cls, loss_bbox=loss_bbox, reg_decoded_bbox=True, **kwargs)
        if not isinstance(self.loss_cls, RankingLoss):
            raise ValueError(f'ValueBalancedBBoxHead: loss_cls must be a ranking loss (C sigmoid scores, e.g. '
                             f'RankSortLoss), got {type(self.loss_cls).__name__}')

    def loss(self, cls_score: Tensor, bbox_pred: Tensor, rois: Tensor, labels: Tensor, label_weights: Tensor,
             bbox_targets: Tensor, bbox_weights: Tensor, reduction_override: Optional[str] = None) -> dict:
        positive, pos_boxes = positive_roi_boxes(self, bbox_pred, rois, labels)
        losses = value_balanced_losses(self, cls_score, labels, label_weights, positive, pos_boxes,
                                       bbox_targets[positive], bbox_pred)
        losses.update(self.loss_cls.get_accuracy(cls_score, labels))
        return losses


def positive_roi_boxes(head, bbox_pred: Tensor, rois: Tensor, labels: Tensor) -> Tuple[Tensor, Tensor]:
    """The positive RoIs' indices (ascending) and their boxes decoded from their deltas for their
    class (or the class-agnostic ones)."""
    positive = positive_entries(head, labels)
    per_class = bbox_pred.view(bbox_pred.size(0), -1, head.bbox_coder.encode_size)
    pos_pred = per_class[positive, 0 if head.reg_class_agnostic else labels[positive]]
    return positive, head.bbox_coder.decode(rois[positive, 1:], pos_pred)
