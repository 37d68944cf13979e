from typing import List

from mmdet.models.dense_heads import RPNHead
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, InstanceList, OptInstanceList
from torch import Tensor

from ..ranking_heads import RankingCalls, register_ranking_head
from .value_balance import anchor_entries, anchor_losses


@register_ranking_head(calls=RankingCalls(method=None, passes_quality=True))
@MODELS.register_module()
class ValueBalancedRPNHead(RPNHead):
    """RPN head of the Rank & Sort paper's RS-R-CNN (Oksuz et al., ICCV 2021, sec. 5): one
    classification loss over every anchor of every level and image (no sampler: the config uses
    ``PseudoSampler``), each positive's target its IoU, and a score-weighted box loss balanced
    against it by value (see ``value_balanced_losses``); every loss times ``head_weight``, logged
    as ``loss_rpn_rank``, ``loss_rpn_sort`` (``loss_rpn_cls`` for another quality loss) and
    ``loss_rpn_bbox``. Proposals are mmdet's ``RPNHead``'s.

    Config (the rest as ``RPNHead``)::

        rpn_head=dict(type='ValueBalancedRPNHead', in_channels=256, feat_channels=256, head_weight=0.2,
                      bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                                      target_stds=[0.1, 0.1, 0.2, 0.2]),
                      loss_cls=dict(type='RankSortLoss', use_sigmoid=True, delta=0.5),
                      loss_bbox=dict(type='GIoULoss', loss_weight=1.0))

    Args:
        head_weight (float): Multiplies the RPN's losses against the RoI head's. Default 0.2, the
            value of the authors' RS-R-CNN configs.
        *args, **kwargs: As ``RPNHead``; boxes are regressed decoded (``reg_decoded_bbox``).
    """

    def __init__(self, *args, head_weight: float = 0.2,
                 loss_cls: ConfigType = dict(type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0),
                 loss_bbox: ConfigType = dict(type='GIoULoss', loss_weight=1.0), **kwargs) -> None:
        if not head_weight > 0:
            raise ValueError(f'ValueBalancedRPNHead: head_weight must be > 0, got {head_weight!r}')
        super().__init__(*args, loss_cls=loss_cls, loss_bbox=loss_bbox, reg_decoded_bbox=True, **kwargs)
        self.head_weight = float(head_weight)

    def loss_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                     batch_gt_instances: InstanceList, batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        entries = anchor_entries(self, cls_scores, bbox_preds, batch_gt_instances, batch_img_metas,
                                 batch_gt_instances_ignore)
        losses = anchor_losses(self, *entries)
        return {key.replace('loss_', 'loss_rpn_', 1): self.head_weight * value for key, value in losses.items()}
