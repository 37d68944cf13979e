from typing import List

from mmdet.models.dense_heads import RetinaHead
from mmdet.registry import MODELS
from mmdet.utils import InstanceList, OptInstanceList
from torch import Tensor

from .alrp import ALRPHead, anchor_alrp_losses
from .value_balance import anchor_entries


@MODELS.register_module()
class ALRPRetinaHead(ALRPHead, RetinaHead):
    """RetinaNet's head trained by aLRP Loss (Oksuz et al., NeurIPS 2020), as the authors'
    ``aLRPLossRetinaHead`` does: one ``ALRPLoss`` call per step over every (anchor, class) entry of
    every level and image; each positive's localisation error is the GIoU loss of its decoded box
    divided by ``2 (1 - tau)`` (1 for the authors' tau = 0.5); the logged ``loss_bbox`` is the
    localisation part times the self-balance weight (``self_balance``, 50 at the start, then
    updated at each epoch's end by ``ALRPSelfBalanceHook``: no box-loss weight to tune).

    Config (the rest as ``RetinaHead``)::

        bbox_head=dict(type='ALRPRetinaHead', num_classes=80, in_channels=256, feat_channels=256,
                       loss_cls=dict(type='ALRPLoss', use_sigmoid=True, delta=1.0),
                       loss_bbox=dict(type='GIoULoss', loss_weight=1.0))
        custom_hooks = [dict(type='ALRPSelfBalanceHook')]

    Arguments: ``ALRPHead``'s and ``RetinaHead``'s.
    """

    def loss_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                     batch_gt_instances: InstanceList, batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        return anchor_alrp_losses(self, *anchor_entries(self, cls_scores, bbox_preds, batch_gt_instances,
                                                        batch_img_metas, batch_gt_instances_ignore))
