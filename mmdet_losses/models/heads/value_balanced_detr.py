from typing import List, Tuple

import torch
from mmdet.models.dense_heads import DeformableDETRHead, DINOHead
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox_cxcywh_to_xyxy, bbox_overlaps
from mmdet.utils import InstanceList, reduce_mean
from torch import Tensor

from ...functional.checks import check_finite
from ..ranking_heads import RankingCalls, register_ranking_head
from .value_balance import check_rank_sort, positive_entries


class ValueBalancedDETRLosses:
    """The losses of a DETR head's prediction set (a decoder layer's queries, the encoder's
    proposals, the denoising queries) with ``RankSortLoss``, as the bucketed ranking-based losses
    paper's RS-DETR (Yavuz et al., ECCV 2024) trains Co-Deformable-DETR:

    - ``loss_cls``: Rank & Sort (ranking + sorting) over every (query, class) entry of the set's
      images (and, with ``ranking='global'``, of every process), the queries matched by the
      Hungarian assigner (its cost unchanged) positive at their object's class, each sorted by the
      IoU of its predicted box with its object (detached);
    - ``loss_bbox`` (L1) and ``loss_iou`` (GIoU) as the mmdet head computes them, then both scaled
      by ``loss_cls / (loss_bbox + loss_iou)`` (detached; the box value a mean over the processes):
      the Rank & Sort paper's value-based balance, so that their configured weights only set their
      ratio. (The bucketed paper's code computes this factor for the L1 loss but returns the
      losses unscaled.)
    """

    def loss_by_feat_single(self, cls_scores: Tensor, bbox_preds: Tensor, batch_gt_instances: InstanceList,
                            batch_img_metas: List[dict]) -> Tuple[Tensor, Tensor, Tensor]:
        check_set(self, 'loss_by_feat_single', cls_scores, bbox_preds)
        targets = self.get_targets(list(cls_scores), list(bbox_preds), batch_gt_instances, batch_img_metas)
        return self.value_balanced_losses(cls_scores, bbox_preds, batch_img_metas, *targets[:4])

    def value_balanced_losses(self, cls_scores: Tensor, bbox_preds: Tensor, batch_img_metas: List[dict],
                              labels: List[Tensor], label_weights: List[Tensor], bbox_targets: List[Tensor],
                              bbox_weights: List[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
        """(loss_cls, loss_bbox, loss_iou) of one prediction set: ``cls_scores`` (bs, queries, C),
        ``bbox_preds`` (bs, queries, 4) normalised (cx, cy, w, h), and the per-image targets."""
        labels, label_weights = torch.cat(labels), torch.cat(label_weights)
        bbox_targets, bbox_weights = torch.cat(bbox_targets), torch.cat(bbox_weights)
        factors = torch.cat([bbox_preds.new_tensor([meta['img_shape'][1], meta['img_shape'][0]] * 2)
                             .expand(bbox_preds.size(1), 4) for meta in batch_img_metas])
        scores, deltas = cls_scores.reshape(-1, self.cls_out_channels), bbox_preds.reshape(-1, 4)
        boxes, gt_boxes = bbox_cxcywh_to_xyxy(deltas) * factors, bbox_cxcywh_to_xyxy(bbox_targets) * factors

        positive = positive_entries(self, labels)
        quality = scores.new_zeros(labels.shape)
        quality[positive] = bbox_overlaps(boxes[positive].detach(), gt_boxes[positive],
                                          is_aligned=True).to(quality.dtype)
        ranking, sorting = self.loss_cls.ranking_and_sorting(scores, (labels, quality), label_weights)
        classification = ranking + sorting

        positives = torch.clamp(reduce_mean(scores.new_tensor(float(positive.numel()))), min=1).item()
        loss_iou = self.loss_iou(boxes, gt_boxes, bbox_weights, avg_factor=positives)
        loss_bbox = self.loss_bbox(deltas, bbox_targets, bbox_weights, avg_factor=positives)
        box_value = reduce_mean((loss_bbox + loss_iou).detach()).item()
        balance = classification.detach() / box_value if box_value > 0 else 0.0
        return classification, loss_bbox * balance, loss_iou * balance


def check_set(head, method: str, cls_scores: Tensor, bbox_preds: Tensor) -> None:
    """A ValueError naming the first non-finite prediction of a set, before the matching (whose
    cost matrix would otherwise fail on it without saying where)."""
    for argument, values in (('cls_scores', cls_scores), ('bbox_preds', bbox_preds)):
        check_finite(f'{type(head).__name__}.{method}', argument, values)


@register_ranking_head(calls=RankingCalls(method=None, passes_quality=True))
@MODELS.register_module()
class ValueBalancedDeformableDETRHead(ValueBalancedDETRLosses, DeformableDETRHead):
    """Deformable DETR's head trained by Rank & Sort (``ValueBalancedDETRLosses``) in each decoder
    layer (and the encoder's proposals, two-stage), each layer its own ranking over all images.

    Config (the rest as ``DeformableDETRHead``)::

        bbox_head=dict(type='ValueBalancedDeformableDETRHead', num_classes=80, embed_dims=256,
                       loss_cls=dict(type='RankSortLoss', use_sigmoid=True, delta=0.5))
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        check_rank_sort(self, 'the IoU of their boxes')


@register_ranking_head(calls=RankingCalls(method=None, passes_quality=True))
@MODELS.register_module()
class ValueBalancedDINOHead(ValueBalancedDETRLosses, DINOHead):
    """DINO's head trained by Rank & Sort (``ValueBalancedDETRLosses``) in each decoder layer, on
    the encoder's proposals and on the denoising queries, each set its own ranking over all images.

    Config (the rest as ``DINOHead``)::

        bbox_head=dict(type='ValueBalancedDINOHead', num_classes=80, sync_cls_avg_factor=True, embed_dims=256,
                       loss_cls=dict(type='RankSortLoss', use_sigmoid=True, delta=0.5))
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        check_rank_sort(self, 'the IoU of their boxes')

    def _loss_dn_single(self, dn_cls_scores: Tensor, dn_bbox_preds: Tensor, batch_gt_instances: InstanceList,
                        batch_img_metas: List[dict], dn_meta: dict) -> Tuple[Tensor, Tensor, Tensor]:
        check_set(self, '_loss_dn_single', dn_cls_scores, dn_bbox_preds)
        targets = self.get_dn_targets(batch_gt_instances, batch_img_metas, dn_meta)
        return self.value_balanced_losses(dn_cls_scores, dn_bbox_preds, batch_img_metas, *targets[:4])
