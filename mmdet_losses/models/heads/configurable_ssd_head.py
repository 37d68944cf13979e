from typing import List, Tuple

from mmdet.models.dense_heads import SSDHead
from mmdet.registry import MODELS
from mmdet.utils import ConfigType
from torch import Tensor

from .checks import check_predictions
from .positive_box_loss import positive_box_loss


@MODELS.register_module()
class ConfigurableSSDHead(SSDHead):
    """mmdet's ``SSDHead`` with its losses built from the config: softmax classification with a
    background channel and hard-negative mining (``train_cfg.neg_pos_ratio`` negatives per
    positive, the highest-loss ones, per image), then ``loss_cls`` and ``loss_bbox`` as configured.
    With the defaults it computes exactly ``SSDHead``'s loss (``train_cfg.smoothl1_beta`` is then
    replaced by ``loss_bbox.beta``).

    It also predicts under mmdet 3.3.0, where ``SSDHead.predict`` fails with "'SSDHead' object
    has no attribute 'loss_cls'" (open-mmlab/mmdetection#11063): use it for SSD baselines.

    Args:
        loss_cls (dict): Per-anchor softmax classification loss. Default cross-entropy.
        loss_bbox (dict): Box loss. Default smooth L1 with beta 1, as SSD's.
        *args, **kwargs: As ``SSDHead``.
    """

    def __init__(self, *args,
                 loss_cls: ConfigType = dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                 loss_bbox: ConfigType = dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0),
                 **kwargs) -> None:
        if loss_cls.get('use_sigmoid', False):
            raise ValueError(f'{type(self).__name__} predicts softmax scores with a background '
                             f'channel: loss_cls needs use_sigmoid=False, got {loss_cls!r}')
        super().__init__(*args, **kwargs)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_bbox = MODELS.build(loss_bbox)

    def loss_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], *args, **kwargs) -> dict:
        check_predictions(self, cls_scores, bbox_preds)
        return super().loss_by_feat(cls_scores, bbox_preds, *args, **kwargs)

    def anchor_losses(self, cls_score: Tensor, bbox_pred: Tensor, anchor: Tensor, labels: Tensor,
                      label_weights: Tensor, bbox_targets: Tensor,
                      bbox_weights: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """One image's (positives' classification loss, mined negatives' classification loss,
        positives' box loss), one value per anchor."""
        cls_loss = self.loss_cls(cls_score, labels, label_weights, reduction_override='none')
        positive = (labels >= 0) & (labels < self.num_classes)
        negative_loss = cls_loss[labels == self.num_classes]
        num_mined = min(self.train_cfg['neg_pos_ratio'] * int(positive.sum()), negative_loss.numel())
        mined_loss, _ = negative_loss.topk(num_mined)
        box_loss = positive_box_loss(self, bbox_pred, bbox_targets, bbox_weights, anchor, positive)
        return cls_loss[positive], mined_loss, box_loss

    def loss_by_feat_single(self, cls_score: Tensor, bbox_pred: Tensor, anchor: Tensor,
                            labels: Tensor, label_weights: Tensor, bbox_targets: Tensor,
                            bbox_weights: Tensor, avg_factor: int) -> tuple:
        positive_loss, mined_loss, box_loss = self.anchor_losses(
            cls_score, bbox_pred, anchor, labels, label_weights, bbox_targets, bbox_weights)
        loss_cls = (positive_loss.sum() + mined_loss.sum()) / avg_factor
        return loss_cls[None], box_loss.sum() / avg_factor
