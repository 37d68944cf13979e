from typing import List, Sequence

import torch
from mmcv.cnn import Scale
from mmdet.models.dense_heads import ATSSHead
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, InstanceList, OptInstanceList
from torch import Tensor

from ..ranking_heads import RankingCalls, register_ranking_head
from .value_balance import anchor_losses, checked_anchors, flatten_levels


@register_ranking_head(calls=RankingCalls(method=None, passes_quality=True))
@MODELS.register_module()
class ValueBalancedATSSHead(ATSSHead):
    """ATSS head without centerness whose classification targets carry each positive's IoU and
    whose box loss is balanced against the classification loss by value: the head of the Rank &
    Sort paper's RS-ATSS (Oksuz et al., ICCV 2021, sec. 4 and 5), with ``RankSortLoss``.

    It is mmdet's ``ATSSHead`` without the centerness branch (RS ranks the positives by their
    localisation quality instead), and one loss call covers every FPN level and every image of the
    minibatch:

    - classification: ``loss_cls`` over every (anchor, class) entry with the target
      ``(labels, quality)``, each positive's quality the IoU of its decoded predicted box
      (detached) with its ground truth. ``RankSortLoss`` (the paper's) is logged as ``loss_rank``
      and ``loss_sort``; another loss that takes such targets (mmdet's ``QualityFocalLoss``, say)
      as ``loss_cls``, averaged over the positives;
    - box: ``loss_bbox`` (GIoU) on the positives' decoded boxes, each weighted by the positive's
      detached top class score (the highest sigmoid score over the classes) and normalised by the
      sum of these weights;
    - the paper's value-based balance: the box loss is multiplied by
      ``(loss_rank + loss_sort) / loss_bbox``, both detached, every iteration: no weight to tune,
      and the logged ``loss_bbox`` equals the classification loss.

    Under distributed training the ranking spans the images of every process (``RankSortLoss``'s
    default ``ranking='global'``) and the box loss's normaliser and balance are means over the
    processes, so that W processes of B images train as one minibatch of W x B images.

    Config (the rest as ``ATSSHead``)::

        bbox_head=dict(type='ValueBalancedATSSHead', num_classes=80, in_channels=256, feat_channels=256,
                       anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=4,
                                             scales_per_octave=3, strides=[8, 16, 32, 64, 128]),
                       bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                                       target_stds=[0.1, 0.1, 0.2, 0.2]),
                       loss_cls=dict(type='RankSortLoss', use_sigmoid=True, delta=0.5),
                       loss_bbox=dict(type='GIoULoss', loss_weight=1.0))
    """

    def __init__(self, num_classes: int, in_channels: int,
                 loss_cls: ConfigType = dict(type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0),
                 loss_bbox: ConfigType = dict(type='GIoULoss', loss_weight=1.0), **kwargs) -> None:
        if 'loss_centerness' in kwargs:
            raise ValueError(f'{type(self).__name__}: loss_centerness is not used: the head has no centerness '
                             'branch (its classification targets carry the IoU instead)')
        super().__init__(num_classes, in_channels, loss_cls=loss_cls, loss_bbox=loss_bbox,
                         reg_decoded_bbox=True, **kwargs)
        del self.loss_centerness

    def _init_layers(self) -> None:
        super()._init_layers()
        del self.atss_centerness

    def forward_single(self, x: Tensor, scale: Scale) -> Sequence[Tensor]:
        """(cls_score, bbox_pred) of one level: ``ATSSHead``'s without centerness."""
        cls_feat, reg_feat = x, x
        for cls_conv in self.cls_convs:
            cls_feat = cls_conv(cls_feat)
        for reg_conv in self.reg_convs:
            reg_feat = reg_conv(reg_feat)
        return self.atss_cls(cls_feat), scale(self.atss_reg(reg_feat)).float()

    def loss_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                     batch_gt_instances: InstanceList, batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        return anchor_losses(self, *self.entries(cls_scores, bbox_preds, batch_gt_instances, batch_img_metas,
                                                 batch_gt_instances_ignore))

    def entries(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], batch_gt_instances: InstanceList,
                batch_img_metas: List[dict], batch_gt_instances_ignore: OptInstanceList = None) -> tuple:
        """One training step as rows in one order (level by level, every image's entries in
        (image, location, anchor) order): (cls_score (n, C), bbox_pred, anchors, labels,
        label_weights, bbox_targets), the targets from ATSS's assignment."""
        anchor_list, valid_flag_list = checked_anchors(self, cls_scores, bbox_preds, batch_img_metas)
        (anchors_list, labels_list, label_weights_list, bbox_targets_list, _,
         _) = self.get_targets(anchor_list, valid_flag_list, batch_gt_instances, batch_img_metas,
                               batch_gt_instances_ignore=batch_gt_instances_ignore)
        # Per level the targets are (num_images, level_anchors, ...) and the predictions
        # (num_images, anchors_per_location * channels, H, W).
        return (torch.cat([flatten_levels(score, self.cls_out_channels) for score in cls_scores]),
                torch.cat([flatten_levels(pred, 4) for pred in bbox_preds]),
                torch.cat([anchors.reshape(-1, 4) for anchors in anchors_list]),
                torch.cat([labels.reshape(-1) for labels in labels_list]),
                torch.cat([weights.reshape(-1) for weights in label_weights_list]),
                torch.cat([targets.reshape(-1, 4) for targets in bbox_targets_list]))


@MODELS.register_module()
class RankSortATSSHead(ValueBalancedATSSHead):
    """``ValueBalancedATSSHead`` under the name that configs written before it use (their
    checkpoints load unchanged)."""
