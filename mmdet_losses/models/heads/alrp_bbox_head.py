from typing import Optional

from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from mmdet.registry import MODELS
from torch import Tensor

from .alrp import ALRPHead, alrp_losses
from .value_balanced_bbox_head import positive_roi_boxes


@MODELS.register_module()
class ALRPBBoxHead(ALRPHead, Shared2FCBBoxHead):
    """RoI box head of the aLRP Loss paper's Faster R-CNN (Oksuz et al., NeurIPS 2020; 40.7 AP on
    COCO minival at 500 px in the authors' README, against 38.2 with cross-entropy and GIoU), as
    the authors' ``aLRPLossShared2FCBBoxHead``: C sigmoid scores without a background channel, one
    ``ALRPLoss`` call over every RoI of every image (the config keeps every proposal:
    ``PseudoSampler``), each positive's error the GIoU loss of its decoded box for its class over
    ``2 (1 - tau)``, the localisation part times the self-balance weight; logged as ``loss_cls``,
    ``loss_bbox`` and ``acc`` (top-class accuracy over the foreground RoIs).

    Config (the rest as ``Shared2FCBBoxHead``)::

        bbox_head=dict(type='ALRPBBoxHead', in_channels=256, fc_out_channels=1024, roi_feat_size=7,
                       num_classes=80, bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                                                       target_stds=[0.1, 0.1, 0.2, 0.2]),
                       reg_class_agnostic=False,
                       loss_cls=dict(type='ALRPLoss', use_sigmoid=True, delta=1.0),
                       loss_bbox=dict(type='GIoULoss', loss_weight=1.0))
        custom_hooks = [dict(type='ALRPSelfBalanceHook')]

    Arguments: ``ALRPHead``'s and ``Shared2FCBBoxHead``'s.
    """

    def loss(self, cls_score: Tensor, bbox_pred: Tensor, rois: Tensor, labels: Tensor, label_weights: Tensor,
             bbox_targets: Tensor, bbox_weights: Tensor, reduction_override: Optional[str] = None) -> dict:
        positive, pos_boxes = positive_roi_boxes(self, bbox_pred, rois, labels)
        losses = alrp_losses(self, cls_score, labels, label_weights, positive, pos_boxes, bbox_targets[positive],
                             bbox_pred)
        losses.update(self.loss_cls.get_accuracy(cls_score, labels))
        return losses
