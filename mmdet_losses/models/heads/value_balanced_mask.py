from typing import List, Tuple

import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.roi_heads.mask_heads import FCNMaskHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import MODELS
from mmdet.utils import InstanceList, reduce_mean
from torch import Tensor

DICE_EPS = 1e-5  # the authors' smoothing of the Dice coefficient


@MODELS.register_module()
class ValueBalancedRoIHead(StandardRoIHead):
    """Mask R-CNN's RoI head of the Rank & Sort paper's RS-Mask R-CNN (Oksuz et al., ICCV 2021,
    sec. 5): with ``ValueBalancedBBoxHead`` and ``ValueBalancedMaskHead``, the mask loss joins the
    value-based balance: each positive RoI's mask loss is weighted by its detached top score, as its
    box loss is, and the mask loss is scaled to the value of the classification loss (ranking +
    sorting) every step. Otherwise mmdet's ``StandardRoIHead``; every positive RoI gets a mask loss
    (the authors' code keeps a random 200 when there are more, to save memory)."""

    def bbox_loss(self, x: Tuple[Tensor], sampling_results: List[SamplingResult]) -> dict:
        bbox_results = super().bbox_loss(x, sampling_results)
        if self.with_mask:
            # The positive RoIs come first in each image's RoIs, in the order of the mask head's.
            scores = bbox_results['cls_score'].detach().sigmoid().max(dim=1).values
            starts = torch.cumsum(torch.tensor([0] + [len(res.priors) for res in sampling_results[:-1]]), 0)
            positive = torch.cat([torch.arange(len(res.pos_priors)) + int(start)
                                  for res, start in zip(sampling_results, starts)]).to(scores.device)
            losses = bbox_results['loss_bbox']
            self.mask_head.balance_with(scores[positive], (losses['loss_rank'] + losses['loss_sort']).detach())
        return bbox_results


@MODELS.register_module()
class ValueBalancedMaskHead(FCNMaskHead):
    """FCN mask head of RS-Mask R-CNN (Oksuz et al., ICCV 2021, sec. 5): each positive RoI's loss
    is ``1 - Dice`` of its class's sigmoid mask with the target, weighted by the RoI's detached top
    class score and normalised by the sum of these weights, then scaled to the value of the
    classification loss (the value-based balance). The weights and the value come from
    ``ValueBalancedRoIHead``, which calls ``balance_with`` before the mask loss of a step; under
    distributed training the normaliser and the scale are means over the processes."""

    def balance_with(self, weights: Tensor, classification_value: Tensor) -> None:
        self.weights, self.classification_value = weights, classification_value

    def loss_and_target(self, mask_preds: Tensor, sampling_results: List[SamplingResult],
                        batch_gt_instances: InstanceList, rcnn_train_cfg) -> dict:
        if getattr(self, 'weights', None) is None:
            raise RuntimeError('ValueBalancedMaskHead: its RoI head gave no box weights; use it in a '
                               'ValueBalancedRoIHead')
        weights, value = self.weights, self.classification_value
        self.weights = self.classification_value = None
        mask_targets = self.get_targets(sampling_results, batch_gt_instances, rcnn_train_cfg)
        labels = torch.cat([res.pos_gt_labels for res in sampling_results])
        rows = torch.arange(mask_preds.size(0), device=mask_preds.device)
        masks = mask_preds[rows, 0 if self.class_agnostic else labels].sigmoid()
        loss_mask = value_balanced_dice_loss(masks, mask_targets, weights, value)
        return dict(loss_mask=dict(loss_mask=loss_mask), mask_targets=mask_targets)


def value_balanced_dice_loss(masks: Tensor, targets: Tensor, weights: Tensor, classification_value: Tensor,
                             eps: float = DICE_EPS) -> Tensor:
    """The Rank & Sort paper's mask loss (Oksuz et al., ICCV 2021, sec. 5): ``1 - Dice`` of each
    positive's mask probabilities (n, H, W) with its binary target (``eps`` added to the Dice's
    denominator), weighted by the positive's detached top class score ``weights`` (n,) and
    normalised by their sum, then scaled to ``classification_value`` (the value-based balance).
    Under distributed training the normaliser and the mask loss's value are means over the
    processes; with no positive here it is 0 (and takes part in the means, so that no process
    waits)."""
    dice = dice_coefficients(masks, targets, eps)
    normaliser = reduce_mean(weights.sum()).clamp(min=1e-12).item()
    loss_mask = (weights * (1 - dice)).sum() / normaliser
    mask_value = reduce_mean(loss_mask.detach()).item()
    return loss_mask * (classification_value / mask_value if mask_value > 0 else 0.0)


def dice_coefficients(masks: Tensor, targets: Tensor, eps: float = DICE_EPS) -> Tensor:
    """(n,) Dice coefficients ``2 sum(m t) / (sum m^2 + sum t^2 + eps)`` of masks (n, H, W) with
    their targets."""
    masks = masks.flatten(1)
    targets = targets.flatten(1).to(masks.dtype)
    return 2 * (masks * targets).sum(1) / ((masks ** 2).sum(1) + (targets ** 2).sum(1) + eps)
