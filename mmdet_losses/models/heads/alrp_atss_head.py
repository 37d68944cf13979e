from typing import List

from mmdet.registry import MODELS
from mmdet.utils import InstanceList, OptInstanceList
from torch import Tensor

from .alrp import ALRPHead, anchor_alrp_losses
from .value_balanced_atss_head import ValueBalancedATSSHead


@MODELS.register_module()
class ALRPATSSHead(ALRPHead, ValueBalancedATSSHead):
    """aLRP Loss with ATSS's assignment (Oksuz et al., NeurIPS 2020; 41.0 AP on COCO minival at 500
    px in the authors' README): mmdet's ``ATSSHead`` without its centerness branch (as
    ``ValueBalancedATSSHead``), trained as ``ALRPRetinaHead``: one ``ALRPLoss`` call per step over
    every (anchor, class) entry of every level and image, each positive's error the GIoU loss of
    its decoded box over ``2 (1 - tau)``, ``loss_bbox`` the localisation part times the
    self-balance weight (``ALRPSelfBalanceHook``).

    The authors' code puts mmdet's ``ATSSAssigner`` under their RetinaNet head; mmdet 3's
    RetinaHead cannot call it (it does not pass the anchors per level), so the head here is
    ATSS's, with RetinaNet's convolutions where the config sets ``norm_cfg=None``; ATSS's learnable
    scale of each level's box deltas (1 at the start) is kept.

    Config (the rest as ``ATSSHead``)::

        bbox_head=dict(type='ALRPATSSHead', num_classes=80, in_channels=256, feat_channels=256, norm_cfg=None,
                       anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=4,
                                             scales_per_octave=2, strides=[8, 16, 32, 64, 128]),
                       bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                                       target_stds=[0.1, 0.1, 0.2, 0.2]),
                       loss_cls=dict(type='ALRPLoss', use_sigmoid=True, delta=1.0),
                       loss_bbox=dict(type='GIoULoss', loss_weight=1.0))
        custom_hooks = [dict(type='ALRPSelfBalanceHook')]

    Arguments: ``ALRPHead``'s and ``ATSSHead``'s.
    """

    def loss_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                     batch_gt_instances: InstanceList, batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        return anchor_alrp_losses(self, *self.entries(cls_scores, bbox_preds, batch_gt_instances, batch_img_metas,
                                                      batch_gt_instances_ignore))
