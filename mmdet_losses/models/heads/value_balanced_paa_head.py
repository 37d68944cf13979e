from typing import List, Optional

import torch
from mmdet.models.dense_heads import PAAHead
from mmdet.models.layers import multiclass_nms
from mmdet.models.utils import levels_to_images, multi_apply
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, InstanceList, OptInstanceList
from mmengine.structures import InstanceData
from torch import Tensor

from ..losses import RankingLoss
from ..ranking_heads import RankingCalls, register_ranking_head
from .value_balance import anchor_losses, checked_anchors
from .value_balanced_atss_head import ValueBalancedATSSHead

PAA_FOCAL_LOSS = dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0)


@register_ranking_head(calls=RankingCalls(method=None, passes_quality=True))
@MODELS.register_module()
class ValueBalancedPAAHead(ValueBalancedATSSHead, PAAHead):
    """PAA's probabilistic anchor assignment with the losses of the Rank & Sort paper: the head of
    its RS-PAA (Oksuz et al., ICCV 2021, sec. 5 and table 5).

    Each step, as mmdet's ``PAAHead`` (Kim and Lee, ECCV 2020): the anchors that the IoU assigner
    makes candidates of an object are scored by a per-anchor loss, ``assigner_loss_cls`` (PAA's
    focal loss) plus ``loss_bbox`` (GIoU) on the decoded box; per object the lowest ``topk`` scores of
    each level are split by a two-component Gaussian mixture, and the candidates up to the most
    likely one of the low-loss component stay positive, the others become negatives. Then, as
    ``ValueBalancedATSSHead``: ``loss_cls`` (``RankSortLoss``) ranks every (anchor, class) entry of
    the minibatch with each positive's IoU as its sorting target, the GIoU loss of the positives is
    weighted by their top class scores, and the two are balanced by value.

    Where it differs from the focal-loss ``PAAHead`` (as the authors' RS-PAA does):

    - no IoU prediction branch and no ``loss_centerness``: RS sorts the positives by their IoUs,
      which the scores learn instead; at test time the classification scores alone rank the boxes
      before NMS, in NMS and in score voting (``PAAHead`` uses ``sqrt(score * predicted IoU)``);
    - the box loss weights each positive by its score, not by its IoU, and its weight is the
      value-based balance, not ``loss_bbox``'s ``loss_weight`` (1.3 in mmdet's PAA);
    - the assignment's score uses ``assigner_loss_cls`` and ``loss_bbox`` as configured (RS-PAA:
      focal loss and GIoU of weight 1).

    Needs scikit-learn (for the mixture), as ``PAAHead``.

    Args:
        assigner_loss_cls (dict): The per-anchor classification loss that scores the candidates
            (called with ``reduction_override='none'``); not trained. Default: PAA's focal loss.
        topk, score_voting, covariance_type: As ``PAAHead``.
        Others: As ``ValueBalancedATSSHead``.

    Config: as ``ValueBalancedATSSHead``'s with ``type='ValueBalancedPAAHead'`` and ``PAAHead``'s
    ``topk`` and ``score_voting``, in PAA's detector and ``train_cfg`` (the authors' RS-PAA R50 1x:
    ``configs/rank_sort/rs_paa_r50_fpn_4xb4-1x_coco.py``).
    """

    def __init__(self, *args, assigner_loss_cls: ConfigType = PAA_FOCAL_LOSS, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        assigner_loss = MODELS.build(assigner_loss_cls)
        if isinstance(assigner_loss, RankingLoss):
            raise ValueError(f'ValueBalancedPAAHead: assigner_loss_cls must give a loss per anchor '
                             f'(reduction_override="none"), which a ranking loss does not; got '
                             f'{type(assigner_loss).__name__} (RS-PAA: {PAA_FOCAL_LOSS})')
        self.assigner_loss_cls = assigner_loss

    def loss_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                     batch_gt_instances: InstanceList, batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        anchor_list, valid_flag_list = checked_anchors(self, cls_scores, bbox_preds, batch_img_metas)
        labels, label_weights, bbox_targets, bbox_weights, candidates, candidate_objects = self.get_targets(
            anchor_list, valid_flag_list, batch_gt_instances, batch_img_metas,
            batch_gt_instances_ignore=batch_gt_instances_ignore)
        # PAA's targets are per image with the levels joined: the predictions in that order.
        cls_score = [score.reshape(-1, self.cls_out_channels) for score in levels_to_images(cls_scores)]
        bbox_pred = [pred.reshape(-1, 4) for pred in levels_to_images(bbox_preds)]
        anchors = [torch.cat(levels) for levels in anchor_list]
        with torch.no_grad():
            candidate_losses = list(map(self.candidate_losses, anchors, cls_score, bbox_pred, labels, label_weights,
                                        bbox_targets, candidates))
            labels, label_weights, _, _ = multi_apply(self.paa_reassign, candidate_losses, labels, label_weights,
                                                      bbox_weights, candidates, candidate_objects, anchor_list)
        return anchor_losses(self, torch.cat(cls_score), torch.cat(bbox_pred), torch.cat(anchors),
                             torch.cat(labels), torch.cat(label_weights), torch.cat(bbox_targets))

    def candidate_losses(self, anchors: Tensor, cls_score: Tensor, bbox_pred: Tensor, labels: Tensor,
                         label_weights: Tensor, bbox_targets: Tensor, candidates: Tensor) -> Tensor:
        """The score of each candidate of one image by which PAA splits them: its classification
        loss summed over the classes plus its box loss, as ``PAAHead.get_pos_loss``."""
        if not len(candidates):
            return cls_score.new_zeros(0)
        boxes = self.bbox_coder.decode(anchors[candidates], bbox_pred[candidates])
        classification = self.assigner_loss_cls(cls_score[candidates], labels[candidates], label_weights[candidates],
                                                reduction_override='none')
        return classification.sum(-1) + self.loss_bbox(boxes, bbox_targets[candidates], reduction_override='none')

    def _predict_by_feat_single(self, cls_score_list: List[Tensor], bbox_pred_list: List[Tensor],
                                score_factor_list: List[Optional[Tensor]], mlvl_priors: List[Tensor],
                                img_meta: dict, cfg: Optional[ConfigType] = None, rescale: bool = False,
                                with_nms: bool = True) -> InstanceData:
        """PAA's prediction with the classification scores in place of ``sqrt(score x IoU)``:
        per level the ``nms_pre`` anchors of highest top score, then NMS and score voting."""
        cfg = self.test_cfg if cfg is None else cfg
        nms_pre = cfg.get('nms_pre', -1)
        boxes, scores = [], []
        for cls_score, bbox_pred, priors in zip(cls_score_list, bbox_pred_list, mlvl_priors):
            level_scores = cls_score.permute(1, 2, 0).reshape(-1, self.cls_out_channels).sigmoid()
            deltas = bbox_pred.permute(1, 2, 0).reshape(-1, 4)
            if 0 < nms_pre < level_scores.shape[0]:
                kept = level_scores.max(dim=1).values.topk(nms_pre).indices
                priors, deltas, level_scores = priors[kept], deltas[kept], level_scores[kept]
            boxes.append(self.bbox_coder.decode(priors, deltas, max_shape=img_meta['img_shape']))
            scores.append(level_scores)
        boxes, scores = torch.cat(boxes), torch.cat(scores)
        if rescale:
            boxes = boxes / boxes.new_tensor(img_meta['scale_factor']).repeat((1, 2))
        # multiclass_nms takes a background column last.
        scores = torch.cat([scores, scores.new_zeros(scores.shape[0], 1)], dim=1)
        detections, labels = multiclass_nms(boxes, scores, cfg.score_thr, cfg.nms, cfg.max_per_img)
        if self.with_score_voting and len(detections) > 0:
            detections, labels = self.score_voting(detections, labels, boxes, scores, cfg.score_thr)
        return InstanceData(bboxes=detections[:, :-1], scores=detections[:, -1], labels=labels)
