from mmdet.registry import MODELS
from torch import Tensor

from .configurable_ssd_head import ConfigurableSSDHead
from .harmonic import HarmonicLossMixin


@MODELS.register_module()
class HarmonicSSDHead(HarmonicLossMixin, ConfigurableSSDHead):
    """SSD head trained with the Harmonic loss (Wang & Zhang).

    As ``SSDHead``, softmax cross-entropy with hard-negative mining; but each positive's
    cross-entropy of its true class ``c`` and its box loss summed over coordinates ``l`` become
    ``(1 + exp(-l)) c + (1 + exp(-c)) l``; the mined negatives keep their cross-entropy. The box
    loss comes from the config: smooth L1 by default, or ``HarmonicIoULoss`` / ``GIoULoss`` with
    ``reg_decoded_bbox=True``::

        bbox_head=dict(type='HarmonicSSDHead', num_classes=20, reg_decoded_bbox=True,
                       loss_bbox=dict(type='HarmonicIoULoss', gamma=0.8, loss_weight=1.0))

    Args:
        detach_factors (bool): Stop the gradient through the factors exp(-l) and exp(-c). The
            paper's analysis differentiates through them. Default False.
        *args, **kwargs: As ``ConfigurableSSDHead`` (``loss_cls``, ``loss_bbox``) and ``SSDHead``.
    """

    def loss_by_feat_single(self, cls_score: Tensor, bbox_pred: Tensor, anchor: Tensor,
                            labels: Tensor, label_weights: Tensor, bbox_targets: Tensor,
                            bbox_weights: Tensor, avg_factor: int) -> tuple:
        """The Harmonic loss of one image's anchors (SSD mines negatives per image)."""
        loss_cls, loss_bbox = self.harmonic_losses(*self.anchor_losses(
            cls_score, bbox_pred, anchor, labels, label_weights, bbox_targets, bbox_weights), avg_factor)
        return loss_cls[None], loss_bbox
