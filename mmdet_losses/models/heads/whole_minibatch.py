from typing import List

import torch
from mmdet.structures.bbox import cat_boxes, get_box_tensor
from mmdet.utils import InstanceList, OptInstanceList, reduce_mean
from torch import Tensor

from .checks import check_predictions


class WholeMinibatchLossMixin:
    """For an mmdet anchor head: ``loss_by_feat`` that calls ``loss_cls`` and ``loss_bbox`` once,
    over every FPN level and every image of the minibatch, instead of once per level (RetinaHead)
    or per image (SSDHead). A ranking loss such as AP-Loss needs that one call to rank the whole
    minibatch; for a per-entry loss the result equals the per-level sum. Anchors with label
    weight 0 stay ignored; the box loss is normalised by the number of positives as in mmdet.
    Put it before the head class: ``class Head(WholeMinibatchLossMixin, RetinaHead)``.

    Under distributed training "the whole minibatch" is every image of every process: ``APLoss``
    ranks across processes by default (``ranking='global'``), and the box loss's normaliser is the
    mean positive count over the processes (mmdet's ``reduce_mean``, as its ATSS and FCOS heads
    do), so that the gradients that DistributedDataParallel averages equal those of one process
    holding the whole minibatch.
    """

    def loss_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                     batch_gt_instances: InstanceList, batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        check_predictions(self, cls_scores, bbox_preds)
        featmap_sizes = [score.size()[-2:] for score in cls_scores]
        anchor_list, valid_flag_list = self.get_anchors(
            featmap_sizes, batch_img_metas, device=cls_scores[0].device)
        (labels_list, label_weights_list, bbox_targets_list, bbox_weights_list,
         avg_factor) = self.get_targets(
             anchor_list, valid_flag_list, batch_gt_instances, batch_img_metas,
             batch_gt_instances_ignore=batch_gt_instances_ignore)

        # Per level, the targets are (num_images, level_anchors, ...); the predictions
        # (num_images, anchors_per_location * channels, H, W). Flatten both level by level in the
        # same (image, location, anchor) order, then join the levels.
        cls_score = torch.cat([flatten_levels(score, self.cls_out_channels) for score in cls_scores])
        labels = torch.cat([labels.reshape(-1) for labels in labels_list])
        label_weights = torch.cat([weights.reshape(-1) for weights in label_weights_list])
        loss_cls = self.loss_cls(cls_score, labels, label_weights, avg_factor=avg_factor)
        avg_factor = reduce_mean(torch.tensor(float(avg_factor), device=cls_score.device)).item()

        bbox_pred = torch.cat([flatten_levels(pred, self.bbox_coder.encode_size) for pred in bbox_preds])
        target_dim = bbox_targets_list[0].size(-1)
        bbox_targets = torch.cat([targets.reshape(-1, target_dim) for targets in bbox_targets_list])
        bbox_weights = torch.cat([weights.reshape(-1, target_dim) for weights in bbox_weights_list])
        if self.reg_decoded_bbox:
            # Anchors of all images, in the same level-major order as the predictions.
            num_levels = len(cls_scores)
            anchors = torch.cat([
                get_box_tensor(cat_boxes([image_anchors[level] for image_anchors in anchor_list]))
                for level in range(num_levels)])
            bbox_pred = get_box_tensor(self.bbox_coder.decode(anchors, bbox_pred))
        loss_bbox = self.loss_bbox(bbox_pred, bbox_targets, bbox_weights, avg_factor=avg_factor)
        return dict(loss_cls=loss_cls, loss_bbox=loss_bbox)


def flatten_levels(prediction: Tensor, channels: int) -> Tensor:
    """One level's (num_images, anchors_per_location * channels, H, W) prediction as rows of
    ``channels`` in (image, location, anchor) order: the order of its targets."""
    return prediction.permute(0, 2, 3, 1).reshape(-1, channels)
