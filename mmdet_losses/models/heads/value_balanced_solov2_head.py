from typing import List

import torch
import torch.nn.functional as F
from mmdet.models.dense_heads import SOLOV2Head
from mmdet.models.losses import DiceLoss
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, InstanceList
from torch import Tensor

from ..ranking_heads import RankingCalls, register_ranking_head
from .value_balance import check_rank_sort, flatten_levels
from .value_balanced_mask import dice_coefficients, value_balanced_dice_loss

# SOLOv2's Dice: 1e-3 added to each of the two sums of its denominator (the authors' code and
# mmdet's DiceLoss).
SOLO_DICE_EPS = 2e-3


@register_ranking_head(calls=RankingCalls(method=None, passes_quality=True))
@MODELS.register_module()
class ValueBalancedSOLOV2Head(SOLOV2Head):
    """SOLOv2's head of the Rank & Sort paper's RS-SOLOv2 (Oksuz et al., ICCV 2021, sec. 5; R34
    light 32.6, R101 39.7 mask AP in the authors' README), as the authors' ``RankBasedSOLOv2Head``
    with ``rank_loss_type='RankSort'``: one ``RankSortLoss`` call over every (grid cell, class)
    entry of every level and image, each positive cell's sorting target the Dice coefficient of its
    predicted mask with its object's mask (detached); the mask loss ``1 - Dice`` of every positive,
    weighted by the cell's detached top score and balanced against the classification loss by value
    (``value_balanced_dice_loss``; ``loss_mask`` must be ``DiceLoss``, and its ``loss_weight``, which
    the balance cancels, is not used). Prediction is mmdet's ``SOLOV2Head``'s.

    The authors' code pairs the cells (in grid order) with the masks (in object order) by position,
    which mixes them up when an image has several objects on one level; here each mask is paired
    with its own cell, and a cell that two objects claim takes the object whose label it carries
    (the last one assigned, as mmdet's targets).

    Config (the rest as ``SOLOV2Head``)::

        mask_head=dict(type='ValueBalancedSOLOV2Head', num_classes=80, in_channels=256, ...,
                       loss_cls=dict(type='RankSortLoss', use_sigmoid=True, delta=0.5))
    """

    def __init__(self, *args,
                 loss_cls: ConfigType = dict(type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0),
                 loss_mask: ConfigType = dict(type='DiceLoss', use_sigmoid=True, loss_weight=1.0), **kwargs) -> None:
        super().__init__(*args, loss_cls=loss_cls, loss_mask=loss_mask, **kwargs)
        check_rank_sort(self, "their masks' Dice")
        # The mask loss is the score-weighted Dice scaled to the classification loss's value: a
        # weight would cancel out, another loss would not be the paper's.
        if not isinstance(self.loss_mask, DiceLoss):
            raise ValueError(f'{type(self).__name__}: loss_mask must be DiceLoss (its mask loss is the value-balanced '
                             f'Dice loss; a loss_weight cancels out), got {type(self.loss_mask).__name__}')

    def loss_by_feat(self, mlvl_kernel_preds: List[Tensor], mlvl_cls_preds: List[Tensor], mask_feats: Tensor,
                     batch_gt_instances: InstanceList, batch_img_metas: List[dict], **kwargs) -> dict:
        mask_targets, labels, _, pos_indexes = zip(*[self._get_targets_single(gt, featmap_sizes=mask_feats.shape[-2:])
                                                     for gt in batch_gt_instances])
        cls_score = torch.cat([flatten_levels(preds, self.num_classes) for preds in mlvl_cls_preds])
        entry_labels = torch.cat([torch.cat([image[level].flatten() for image in labels])
                                  for level in range(len(mlvl_cls_preds))])
        # Each positive (level, image, cell): its entry, mask and target, level by level; the empty
        # first ones keep the mask features in the graph when there is no positive here.
        entries = [entry_labels.new_zeros(0)]
        masks = [mask_feats[:0].sum(1)]
        targets = [mask_feats.new_zeros((0, *mask_feats.shape[-2:]), dtype=torch.uint8)]
        offset = 0
        for level, kernel_preds in enumerate(mlvl_kernel_preds):
            cells = kernel_preds.shape[-2] * kernel_preds.shape[-1]
            for image, image_kernels in enumerate(kernel_preds):
                index = torch.as_tensor(pos_indexes[image][level], dtype=torch.long, device=mask_feats.device)
                if index.numel():
                    kernels = image_kernels.flatten(1)[:, index].t()
                    kernels = kernels.view(index.numel(), -1, self.dynamic_conv_size, self.dynamic_conv_size)
                    masks.append(F.conv2d(mask_feats[image:image + 1], kernels)[0].sigmoid())
                    targets.append(mask_targets[image][level])
                    entries.append(offset + image * cells + index)
            offset += cells * kernel_preds.shape[0]
        masks, targets, entries = torch.cat(masks), torch.cat(targets), torch.cat(entries)
        dice = dice_coefficients(masks, targets, SOLO_DICE_EPS).detach()
        # Each positive cell's sorting target: its mask's Dice; a cell claimed twice keeps the last
        # claim's.
        last = torch.full_like(entry_labels, -1).scatter_reduce_(
            0, entries, torch.arange(entries.numel(), device=entries.device), reduce='amax')
        claimed = last >= 0
        quality = cls_score.new_zeros(entry_labels.shape)
        quality[claimed] = dice[last[claimed]].to(quality.dtype)
        losses = dict(zip(('loss_rank', 'loss_sort'),
                          self.loss_cls.ranking_and_sorting(cls_score, (entry_labels, quality))))
        weights = cls_score.detach()[entries].sigmoid().max(dim=1).values
        classification = (losses['loss_rank'] + losses['loss_sort']).detach()
        # Every kernel map stays in the graph, with a zero gradient where it has no positive.
        untouched = sum(kernel_preds.sum() for kernel_preds in mlvl_kernel_preds) * 0
        losses['loss_mask'] = value_balanced_dice_loss(masks, targets, weights, classification,
                                                       SOLO_DICE_EPS) + untouched
        return losses
