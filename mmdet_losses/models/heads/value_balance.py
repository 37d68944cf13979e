from typing import Dict, List

import torch
from mmdet.structures.bbox import bbox_overlaps, cat_boxes, get_box_tensor
from mmdet.utils import reduce_mean
from torch import Tensor

from ..losses import RankSortLoss
from .checks import check_predictions


def value_balanced_losses(head, cls_score: Tensor, labels: Tensor, label_weights: Tensor, positive: Tensor,
                          pos_boxes: Tensor, pos_targets: Tensor, anchor: Tensor) -> Dict[str, Tensor]:
    """The losses of the Rank & Sort paper's detectors (Oksuz et al., ICCV 2021, sec. 4.2 and 5):
    one classification loss over every entry, each positive's target its IoU, and a box loss
    weighted by score and balanced against it by value.

    - classification: ``head.loss_cls`` on ``(labels, IoU)``, the IoU of each positive's decoded
      predicted box (detached) with its ground truth; ``RankSortLoss`` is logged as ``loss_rank``
      and ``loss_sort``, another quality loss as ``loss_cls`` averaged over the positives;
    - box: ``head.loss_bbox`` (GIoU in the paper) on the positives' decoded boxes, each weighted by
      its detached top sigmoid score and normalised by the sum of these weights;
    - value-based balance: the box loss times ``classification / box`` (both detached, the box
      value a mean over the processes), so that no weight is tuned.

    Under distributed training the normaliser and the balance are means over the processes, and
    ``RankSortLoss`` ranks every process's entries as one.

    Args:
        cls_score (Tensor): (n, C) logits of every entry.
        labels, label_weights (Tensor): (n,) mmdet's targets (C is background).
        positive (Tensor): indices of the positive entries.
        pos_boxes, pos_targets (Tensor): their decoded predicted boxes and ground-truth boxes.
        anchor (Tensor): any prediction of the head, kept in the graph when there is no positive.
    """
    pos_boxes, pos_targets = get_box_tensor(pos_boxes), get_box_tensor(pos_targets)
    quality = cls_score.new_zeros(labels.shape)
    quality[positive] = bbox_overlaps(pos_boxes.detach(), pos_targets, is_aligned=True).to(quality.dtype)
    if isinstance(head.loss_cls, RankSortLoss):
        losses = dict(zip(('loss_rank', 'loss_sort'),
                          head.loss_cls.ranking_and_sorting(cls_score, (labels, quality), label_weights)))
    else:
        positives = reduce_mean(cls_score.new_tensor(float(positive.numel()))).clamp(min=1).item()
        losses = dict(loss_cls=head.loss_cls(cls_score, (labels, quality), label_weights, avg_factor=positives))

    box_weights = cls_score.detach()[positive].sigmoid().max(dim=1).values
    normaliser = reduce_mean(box_weights.sum()).clamp(min=1e-12).item()
    if positive.numel():
        loss_bbox = head.loss_bbox(pos_boxes, pos_targets, weight=box_weights, avg_factor=normaliser)
    else:
        loss_bbox = anchor.sum() * 0
    box_value = reduce_mean(loss_bbox.detach()).item()
    balance = sum(losses.values()).detach() / box_value if box_value > 0 else 0.0
    losses['loss_bbox'] = loss_bbox * balance
    return losses


def checked_anchors(head, cls_scores: List[Tensor], bbox_preds: List[Tensor], batch_img_metas: List[dict]):
    """``head.get_anchors`` for its predictions' feature maps, once the predictions are checked to
    be finite (``check_predictions``): the first step of every anchor head's ``loss_by_feat`` here."""
    check_predictions(head, cls_scores, bbox_preds)
    featmap_sizes = [score.size()[-2:] for score in cls_scores]
    return head.get_anchors(featmap_sizes, batch_img_metas, device=cls_scores[0].device)


def anchor_entries(head, cls_scores: List[Tensor], bbox_preds: List[Tensor], batch_gt_instances,
                   batch_img_metas: List[dict], batch_gt_instances_ignore=None) -> tuple:
    """One training step of an ``AnchorHead`` as rows in one order (level by level, every image's
    entries in (image, location, anchor) order): (cls_score (n, C), bbox_pred, anchors, labels,
    label_weights, bbox_targets), the targets from the head's ``get_targets``."""
    anchor_list, valid_flag_list = checked_anchors(head, cls_scores, bbox_preds, batch_img_metas)
    labels_list, label_weights_list, bbox_targets_list = head.get_targets(
        anchor_list, valid_flag_list, batch_gt_instances, batch_img_metas,
        batch_gt_instances_ignore=batch_gt_instances_ignore)[:3]
    encode_size = head.bbox_coder.encode_size
    return (torch.cat([flatten_levels(score, head.cls_out_channels) for score in cls_scores]),
            torch.cat([flatten_levels(pred, encode_size) for pred in bbox_preds]),
            torch.cat([get_box_tensor(cat_boxes([image[level] for image in anchor_list]))
                       for level in range(len(cls_scores))]),
            torch.cat([labels.reshape(-1) for labels in labels_list]),
            torch.cat([weights.reshape(-1) for weights in label_weights_list]),
            torch.cat([targets.reshape(-1, targets.size(-1)) for targets in bbox_targets_list]))


def anchor_losses(head, cls_score: Tensor, bbox_pred: Tensor, anchors: Tensor, labels: Tensor,
                  label_weights: Tensor, bbox_targets: Tensor) -> Dict[str, Tensor]:
    """:func:`value_balanced_losses` of a dense head, from its (n, C) logits, (n, 4) box deltas,
    anchors and mmdet's per-anchor targets, all in one order: the positives' boxes are decoded
    from their anchors (the heads regress decoded boxes)."""
    positive = positive_entries(head, labels)
    pos_boxes = head.bbox_coder.decode(anchors[positive], bbox_pred[positive])
    return value_balanced_losses(head, cls_score, labels, label_weights, positive, pos_boxes, bbox_targets[positive],
                                 bbox_pred)


def positive_entries(head, labels: Tensor) -> Tensor:
    """The indices of the positive entries (mmdet's label in [0, C); C is background), ascending."""
    return torch.nonzero((labels >= 0) & (labels < head.num_classes)).squeeze(1)


def check_rank_sort(head, sorting_target: str) -> None:
    """A ValueError unless ``head.loss_cls`` is ``RankSortLoss``: the heads that sort their
    positives by ``sorting_target`` need it."""
    if not isinstance(head.loss_cls, RankSortLoss):
        raise ValueError(f'{type(head).__name__}: loss_cls must be RankSortLoss (it sorts the positives by '
                         f'{sorting_target}), got {type(head.loss_cls).__name__}')


def flatten_levels(prediction: Tensor, channels: int) -> Tensor:
    """One level's (num_images, anchors_per_location * channels, H, W) prediction as rows of
    ``channels`` in (image, location, anchor) order: the order of its targets."""
    return prediction.permute(0, 2, 3, 1).reshape(-1, channels)
