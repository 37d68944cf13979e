from typing import Tuple

from torch import Tensor

from ...functional import harmonic_terms


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

    def harmonic_losses(self, positive_cls_loss: Tensor, negative_cls_loss: Tensor,
                        positive_box_loss: Tensor, avg_factor: float) -> Tuple[Tensor, Tensor]:
        """(loss_cls, loss_bbox): the classification part of the positives' Harmonic loss plus the
        negatives' loss, and the regression part, each divided by ``avg_factor``. Their sum is the
        head's loss; mmdet logs the two apart."""
        cls_term, box_term = harmonic_terms(positive_cls_loss, positive_box_loss, self.detach_factors)
        return (cls_term.sum() + negative_cls_loss.sum()) / avg_factor, box_term.sum() / avg_factor
