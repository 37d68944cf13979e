from typing import List

from mmdet.models.dense_heads import RPNHead
from mmdet.registry import MODELS
from mmdet.utils import InstanceList, OptInstanceList
from torch import Tensor

from .alrp import ALRPHead, anchor_alrp_losses
from .value_balance import anchor_entries


@MODELS.register_module()
class ALRPRPNHead(ALRPHead, RPNHead):
    """RPN head of the aLRP Loss paper's Faster R-CNN (Oksuz et al., NeurIPS 2020), as
    the authors' ``aLRPLossRPNHead``: one ``ALRPLoss`` call over every anchor of every level and
    image (no sampler: the config uses ``PseudoSampler``), each positive's error the GIoU loss of
    its decoded box over ``2 (1 - tau)`` with the RPN's positive threshold tau = 0.7, the
    localisation part times the self-balance weight, both losses times ``head_weight``; logged as
    ``loss_rpn_cls`` and ``loss_rpn_bbox``. Proposals are mmdet's ``RPNHead``'s.

    Config (the rest as ``RPNHead``)::

        rpn_head=dict(type='ALRPRPNHead', in_channels=256, feat_channels=256, head_weight=0.2,
                      bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                                      target_stds=[0.1, 0.1, 0.2, 0.2]),
                      loss_cls=dict(type='ALRPLoss', use_sigmoid=True, delta=1.0),
                      loss_bbox=dict(type='GIoULoss', loss_weight=1.0))
        custom_hooks = [dict(type='ALRPSelfBalanceHook')]

    Args:
        head_weight (float): Multiplies the RPN's losses against the RoI head's. Default 0.2, the
            authors'.
        Others: ``ALRPHead``'s (``tau`` 0.7 by default: the RPN's positive threshold, the
            authors') and ``RPNHead``'s.
    """
    default_tau = 0.7

    def __init__(self, *args, head_weight: float = 0.2, **kwargs) -> None:
        if not head_weight > 0:
            raise ValueError(f'ALRPRPNHead: head_weight must be > 0, got {head_weight!r}')
        super().__init__(*args, **kwargs)
        self.head_weight = float(head_weight)

    def loss_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                     batch_gt_instances: InstanceList, batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        losses = anchor_alrp_losses(self, *anchor_entries(self, cls_scores, bbox_preds, batch_gt_instances,
                                                          batch_img_metas, batch_gt_instances_ignore))
        return {key.replace('loss_', 'loss_rpn_', 1): self.head_weight * value for key, value in losses.items()}
