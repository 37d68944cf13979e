from typing import List

import torch
from mmdet.models.dense_heads import RetinaHead
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, InstanceList, OptInstanceList
from torch import Tensor

from ..losses.alrp_loss import ALRPLoss, SelfBalance
from .value_balance import anchor_entries


@MODELS.register_module()
class ALRPRetinaHead(RetinaHead):
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

    Args:
        tau (float): The IoU threshold of LRP that normalises the errors; in [0, 1). Default 0.5.
        initial_self_balance (float): The weight of the localisation part before the first update.
            Default 50 (the authors').
    """

    def __init__(self, *args, tau: float = 0.5, initial_self_balance: float = 50.0,
                 loss_cls: ConfigType = dict(type='ALRPLoss', use_sigmoid=True, delta=1.0),
                 loss_bbox: ConfigType = dict(type='GIoULoss', loss_weight=1.0), **kwargs) -> None:
        if not 0 <= tau < 1:
            raise ValueError(f'ALRPRetinaHead: tau must be in [0, 1), got {tau!r}')
        super().__init__(*args, loss_cls=loss_cls, loss_bbox=loss_bbox, reg_decoded_bbox=True, **kwargs)
        if not isinstance(self.loss_cls, ALRPLoss):
            raise ValueError(f'ALRPRetinaHead: loss_cls must be ALRPLoss, got {type(self.loss_cls).__name__}')
        self.tau = float(tau)
        self.self_balance = SelfBalance(initial_self_balance)

    def loss_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                     batch_gt_instances: InstanceList, batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        cls_score, bbox_pred, anchors, labels, label_weights, bbox_targets = anchor_entries(
            self, cls_scores, bbox_preds, batch_gt_instances, batch_img_metas, batch_gt_instances_ignore)
        # The positives in ascending entry order: the order of their targets' 1s in the ranking.
        positive = torch.nonzero((labels >= 0) & (labels < self.num_classes)).squeeze(1)
        boxes = self.bbox_coder.decode(anchors[positive], bbox_pred[positive])
        errors = self.loss_bbox(boxes, bbox_targets[positive], reduction_override='none') / (2 * (1 - self.tau))
        classification, localisation = self.loss_cls(cls_score, labels, label_weights, box_errors=errors)
        if not positive.numel():
            # No positive here: the box branch stays in the graph with a zero gradient (under
            # DistributedDataParallel every process must give every parameter one).
            localisation = localisation + bbox_pred.sum() * 0
        self.self_balance.record(classification, localisation)
        return dict(loss_cls=classification, loss_bbox=localisation * self.self_balance.weight.to(localisation.dtype))
