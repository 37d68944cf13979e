from typing import List, Tuple

from torch import Tensor

from ...functional import harmonic_terms
from .checks import check_predictions


class HarmonicLossMixin:
    """For an mmdet anchor head: the Harmonic loss (Wang & Zhang) of its positive anchors. Each
    positive's classification loss ``c`` (summed over classes) and box loss ``l`` (summed over
    coordinates) become ``(1 + exp(-l)) c + (1 + exp(-c)) l``; negatives keep their plain
    classification loss. Losses are taken after their ``loss_weight``. Put it before the head
    class; it adds the argument ``detach_factors`` (default False: gradients flow through the
    factors exp(-l) and exp(-c), as in the paper's analysis).
    """

    def __init__(self, *args, detach_factors: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.detach_factors = detach_factors

    def loss_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], *args, **kwargs) -> dict:
        check_predictions(self, cls_scores, bbox_preds)
        return super().loss_by_feat(cls_scores, bbox_preds, *args, **kwargs)

    def harmonic_losses(self, positive_cls_loss: Tensor, negative_cls_loss: Tensor,
                        positive_box_loss: Tensor, avg_factor: float) -> Tuple[Tensor, Tensor]:
        """(loss_cls, loss_bbox): the classification part of the positives' Harmonic loss plus the
        negatives' loss, and the regression part, each divided by ``avg_factor``. Their sum is the
        head's loss; mmdet logs the two apart."""
        cls_term, box_term = harmonic_terms(positive_cls_loss, positive_box_loss, self.detach_factors)
        return (cls_term.sum() + negative_cls_loss.sum()) / avg_factor, box_term.sum() / avg_factor
