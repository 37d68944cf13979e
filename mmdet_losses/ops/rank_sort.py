"""The whole Rank & Sort loss of one ranking as one op (see :mod:`mmdet_losses.functional.rank_sort`
for the definition): ``torch.ops.mmdet_losses.rank_sort``, O(|N| log |P| + |P|^2) time, float64
accumulation."""
import torch

from .extension import load_extension

__all__ = ['rank_sort']


def rank_sort(scores: torch.Tensor, targets: torch.Tensor, delta: float = 0.5):
    """``(ranking_loss, sorting_loss, grad, positive_index, positive_updates)`` of ``scores`` against
    floating ``targets`` (same shape: ``y`` in (0, 1] a positive with sorting target ``y``, 0
    negative, -1 ignored; any other value is an error naming its flat index): the two losses as
    0-dim tensors in ``scores``' dtype, the error-driven update of their sum at every entry
    (``scores``' shape and dtype), the positives' flat indices (m,) and their ranking and sorting
    updates (2, m) float64. Both losses are differentiable: backward returns their updates times
    the incoming gradients.

    Example:
        >>> import torch
        >>> from mmdet_losses.ops import rank_sort
        >>> ranking, sorting, grad, index, updates = rank_sort(torch.tensor([2.0, 0.5, 1.0, -1.0]),
        ...                                                    torch.tensor([0.6, 0.0, 0.9, 0.0]))
        >>> round(ranking.item(), 4), round(sorting.item(), 4), index.tolist()
        (0.0, 0.1, [2, 0])
    """
    load_extension()
    return torch.ops.mmdet_losses.rank_sort(scores, targets, float(delta))
