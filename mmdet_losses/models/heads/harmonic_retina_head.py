from typing import List

from mmdet.models.dense_heads import RetinaHead
from mmdet.registry import MODELS
from torch import Tensor

from .checks import check_predictions
from .harmonic import HarmonicLossMixin
from .positive_box_loss import positive_box_loss


@MODELS.register_module()
class HarmonicRetinaHead(HarmonicLossMixin, RetinaHead):
    """RetinaNet head trained with the Harmonic loss (Wang & Zhang, "Reconcile Prediction
    Consistency for Balanced Object Detection").

    For each positive anchor, its classification loss summed over classes ``c`` and its box loss
    summed over coordinates ``l`` become ``(1 + exp(-l)) c + (1 + exp(-c)) l``; negative anchors
    keep their plain classification loss; both are normalised by the number of positives, as in
    ``RetinaHead``. ``loss_cls`` can be any per-entry loss (focal loss by default); ``loss_bbox``
    any box loss, e.g. ``HarmonicIoULoss`` or ``GIoULoss`` with ``reg_decoded_bbox=True``::

        bbox_head=dict(type='HarmonicRetinaHead', num_classes=80, in_channels=256,
                       reg_decoded_bbox=True,
                       loss_bbox=dict(type='HarmonicIoULoss', gamma=0.8, loss_weight=1.0))

    Args:
        detach_factors (bool): Stop the gradient through the factors exp(-l) and exp(-c). The
            paper's analysis differentiates through them. Default False.
        *args, **kwargs: As ``RetinaHead``.
    """

    def loss_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], *args, **kwargs) -> dict:
        check_predictions(self, cls_scores, bbox_preds)
        return super().loss_by_feat(cls_scores, bbox_preds, *args, **kwargs)

    def loss_by_feat_single(self, cls_score: Tensor, bbox_pred: Tensor, anchors: Tensor,
                            labels: Tensor, label_weights: Tensor, bbox_targets: Tensor,
                            bbox_weights: Tensor, avg_factor: int) -> tuple:
        """The Harmonic loss of one FPN level; it is a sum over anchors, so the per-level sums
        add up to the loss of the whole image batch."""
        labels = labels.reshape(-1)
        cls_score = cls_score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
        cls_loss = self.loss_cls(cls_score, labels, label_weights.reshape(-1), reduction_override='none')
        if cls_loss.dim() == 2:
            cls_loss = cls_loss.sum(-1)
        positive = (labels >= 0) & (labels < self.num_classes)

        target_dim = bbox_targets.size(-1)
        box_loss = positive_box_loss(
            self, bbox_pred.permute(0, 2, 3, 1).reshape(-1, self.bbox_coder.encode_size),
            bbox_targets.reshape(-1, target_dim), bbox_weights.reshape(-1, target_dim),
            anchors.reshape(-1, anchors.size(-1)), positive)
        return self.harmonic_losses(cls_loss[positive], cls_loss[~positive], box_loss, avg_factor)
