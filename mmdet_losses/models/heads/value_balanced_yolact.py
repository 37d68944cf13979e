from typing import List

import torch
import torch.nn.functional as F
from mmdet.models.dense_heads import YOLACTHead, YOLACTProtonet
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, InstanceList, OptInstanceList
from torch import Tensor

from ..ranking_heads import RankingCalls, register_ranking_head
from .value_balance import anchor_entries, anchor_losses, flatten_levels
from .value_balanced_mask import value_balanced_dice_loss


@register_ranking_head(calls=RankingCalls(method=None, passes_quality=True))
@MODELS.register_module()
class ValueBalancedYOLACTHead(YOLACTHead):
    """YOLACT's box head of the Rank & Sort paper's RS-YOLACT (Oksuz et al., ICCV 2021, sec. 5;
    29.9 mask AP / 33.8 box AP for R50 at 55 epochs in the authors' README), as the authors'
    ``RankSortYOLACTHead``: C sigmoid scores and every anchor of every level and image in one
    ``RankSortLoss`` call (no OHEM: ``use_ohem=False`` with ``PseudoSampler``), each positive's
    sorting target the IoU of its decoded box, GIoU weighted by the positive's detached top score
    and balanced against the classification loss by value (``value_balanced_losses``). It hands
    each positive's score weight and the classification value to ``ValueBalancedYOLACTProtonet``
    through ``get_positive_infos``. Prediction is mmdet's ``YOLACTHead``'s.

    Config (the rest as ``YOLACTHead``)::

        bbox_head=dict(type='ValueBalancedYOLACTHead', num_classes=80, in_channels=256, feat_channels=256,
                       bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                                       target_stds=[0.1, 0.1, 0.2, 0.2]),
                       loss_cls=dict(type='RankSortLoss', use_sigmoid=True, delta=0.5),
                       loss_bbox=dict(type='GIoULoss', loss_weight=1.0), use_ohem=False)
    """

    def __init__(self, num_classes: int, in_channels: int,
                 loss_cls: ConfigType = dict(type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0),
                 loss_bbox: ConfigType = dict(type='GIoULoss', loss_weight=1.0), use_ohem: bool = False,
                 **kwargs) -> None:
        if use_ohem:
            raise ValueError(f'{type(self).__name__}: use_ohem must be False (the ranking loss takes every '
                             f'anchor; OHEM keeps 3 negatives per positive), got {use_ohem!r}')
        super().__init__(num_classes, in_channels, loss_cls=loss_cls, loss_bbox=loss_bbox, use_ohem=False,
                         reg_decoded_bbox=True, **kwargs)

    def loss_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], coeff_preds: List[Tensor],
                     batch_gt_instances: InstanceList, batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        losses = anchor_losses(self, *anchor_entries(self, cls_scores, bbox_preds, batch_gt_instances,
                                                     batch_img_metas, batch_gt_instances_ignore))
        classification = sum(value for key, value in losses.items() if key != 'loss_bbox').detach()
        self._raw_positive_infos.update(coeff_preds=coeff_preds, cls_scores=cls_scores,
                                        classification=classification)
        return losses

    def get_positive_infos(self) -> InstanceList:
        """mmdet's positive infos of each image, with each positive's ``score_weights`` (its
        detached top sigmoid score) and the step's ``classification`` value in the metainfo."""
        infos = super().get_positive_infos()
        scores = torch.cat([flatten_levels(score, self.cls_out_channels).view(len(infos), -1, self.cls_out_channels)
                            for score in self._raw_positive_infos['cls_scores']], dim=1).detach()
        for image, info in enumerate(infos):
            info.score_weights = scores[image, info.pos_inds].sigmoid().max(dim=1).values
            info.set_metainfo(dict(classification=self._raw_positive_infos['classification']))
        return infos


@MODELS.register_module()
class ValueBalancedYOLACTProtonet(YOLACTProtonet):
    """YOLACT's mask head of RS-YOLACT (Oksuz et al., ICCV 2021, sec. 5), as the authors'
    ``RankSortYOLACTProtonet``: each positive's mask (prototypes times its coefficients, cropped by
    its ground-truth box) gets ``1 - Dice`` with its ground-truth mask at the prototypes'
    resolution, weighted by the positive's top score and balanced against the classification loss
    by value (``value_balanced_dice_loss``), with the weights and the value from
    ``ValueBalancedYOLACTHead``. Every positive gets a mask loss (``max_masks_to_train`` is not
    used) and there is no semantic segmentation branch (the authors' has none).

    Config (the rest as ``YOLACTProtonet``)::

        mask_head=dict(type='ValueBalancedYOLACTProtonet', in_channels=256, num_protos=32, num_classes=80)
    """

    def __init__(self, *args, with_seg_branch: bool = False, **kwargs) -> None:
        if with_seg_branch:
            raise ValueError(f'{type(self).__name__}: with_seg_branch must be False (RS-YOLACT has no semantic '
                             f'segmentation branch), got {with_seg_branch!r}')
        super().__init__(*args, with_seg_branch=False, **kwargs)

    def loss_by_feat(self, mask_preds: List[Tensor], segm_preds, batch_gt_instances: InstanceList,
                     batch_img_metas: List[dict], positive_infos: InstanceList, **kwargs) -> dict:
        if 'score_weights' not in positive_infos[0]:
            raise RuntimeError(f'{type(self).__name__}: the box head gave no score weights; use it with '
                               'ValueBalancedYOLACTHead')
        cropped = self.crop_mask_preds(mask_preds, batch_img_metas, positive_infos)
        masks, targets = [], []
        for masks_of_image, gt_instances, info in zip(cropped, batch_gt_instances, positive_infos):
            masks.append(masks_of_image)
            targets.append(mask_targets(gt_instances, info.pos_assigned_gt_inds, masks_of_image))
        masks = torch.cat(masks).clamp(0, 1)
        weights = torch.cat([info.score_weights for info in positive_infos]).to(masks.dtype)
        classification = positive_infos[0].metainfo['classification']
        return dict(loss_mask=value_balanced_dice_loss(masks, torch.cat(targets), weights, classification))


def mask_targets(gt_instances, assigned: Tensor, masks: Tensor) -> Tensor:
    """The binary ground-truth masks (n, h, w) of the positives assigned to ``assigned``, at the
    size of their predicted ``masks`` (bilinear, then > 0.5, as YOLACT's targets)."""
    if not assigned.numel():
        return masks.new_zeros(masks.shape)
    gt_masks = gt_instances.masks.to_tensor(dtype=torch.bool, device=masks.device).float()
    resized = F.interpolate(gt_masks[None], masks.shape[-2:], mode='bilinear', align_corners=False)[0]
    return resized.gt(0.5).to(masks.dtype)[assigned]
