"""The AP-Loss op's two passes over the negatives as public ops, for rankings whose positives are
known from elsewhere (the positives of every process of a group, or other ranking losses):

- ``false_positive_sums``: pass 1, ``fp_i = sum_{j in N} H(s_j - p_i)`` for every positive;
- ``negative_weight_sums``: pass 2, ``g_j = sum_i w_i H(s_j - p_i)`` for every negative.

``H(x) = clamp(x / (2 delta) + 1/2, 0, 1)`` and ``p`` holds the positives' scores, sorted ascending,
as float64. Both take O(|N| log |P|) time and check every entry as ``ap_rank`` does. Neither is
differentiable: they compute the pieces of an error-driven update.
"""
import torch

from .extension import load_extension

__all__ = ['false_positive_sums', 'negative_weight_sums', 'rank_sort_negatives', 'rank_sort_positives']


def false_positive_sums(scores: torch.Tensor, targets: torch.Tensor, sorted_positives: torch.Tensor,
                        delta: float = 1.0) -> torch.Tensor:
    """Pass 1: for every positive score ``p_i``, the sum over the negatives (entries with target 0)
    of ``H(s_j - p_i)``, as float64 of ``sorted_positives``' shape (m,).

    Args:
        scores (Tensor): Logits, any shape, fp16/bf16/fp32/fp64.
        targets (Tensor): Integer tensor of the same shape: 1 positive, 0 negative, -1 ignored.
            Only negatives are counted; positives and ignored entries are skipped.
        sorted_positives (Tensor): (m,) float64 on the scores' device, ascending.
        delta (float): Half-width of the linear part of ``H``; > 0.

    Example:
        >>> import torch
        >>> from mmdet_losses.ops import false_positive_sums
        >>> scores = torch.tensor([0.0, 1.0, 3.0])
        >>> false_positive_sums(scores, torch.tensor([0, 0, 1]), torch.tensor([0.5], dtype=torch.float64))
        tensor([1.], dtype=torch.float64)
    """
    load_extension()
    return torch.ops.mmdet_losses.false_positive_sums(scores.detach(), targets, sorted_positives, float(delta))


def negative_weight_sums(scores: torch.Tensor, targets: torch.Tensor, sorted_positives: torch.Tensor,
                         weights: torch.Tensor, delta: float = 1.0) -> torch.Tensor:
    """Pass 2: at every negative, ``sum_i weights_i H(s_j - p_i)``; 0 at positives and ignored
    entries. Same shape and dtype as ``scores`` (accumulated in float64).

    Args:
        scores, targets, sorted_positives, delta: As in :func:`false_positive_sums`.
        weights (Tensor): (m,) float64, one per sorted positive.

    Example:
        >>> import torch
        >>> from mmdet_losses.ops import negative_weight_sums
        >>> p = torch.tensor([0.0, 2.0], dtype=torch.float64)
        >>> w = torch.tensor([1.0, 10.0], dtype=torch.float64)
        >>> negative_weight_sums(torch.tensor([0.5, 2.0, 9.0]), torch.tensor([0, 1, 0]), p, w)
        tensor([ 0.7500,  0.0000, 11.0000])
    """
    load_extension()
    return torch.ops.mmdet_losses.negative_weight_sums(scores.detach(), targets, sorted_positives, weights,
                                                       float(delta))


def rank_sort_positives(scores: torch.Tensor, values: torch.Tensor, delta: float = 0.5):
    """The positives' part of the Rank & Sort loss: for m positives with scores ``p`` and sorting
    targets ``y`` ((m,) float64 each, same device, any order), with ``h_ik = H(p_k - p_i)``,
    ``(rank_pos, q, update)``, each (m,) float64:

    - ``rank_pos_i = sum_k h_ik`` (i itself adds 1/2);
    - the sorting error ``q_i = sum_k h_ik (1 - y_k) / rank_pos_i
      - sum_{y_k >= y_i} h_ik (1 - y_k) / sum_{y_k >= y_i} h_ik``;
    - the sorting update times m: with ``D_i = sum_{y_k < y_i} h_ik`` and ``c_i = q_i / D_i`` where
      ``D_i > 1e-10`` (else 0), ``update_k = sum_{y_i > y_k} c_i h_ik - [D_k > 1e-10] q_k``.

    O(m^2) time in O(m) memory; every entry is summed in a fixed order (the same bits on any
    thread count, and on CPU and CUDA). Not differentiable.

    Example:
        >>> import torch
        >>> from mmdet_losses.ops import rank_sort_positives
        >>> p = torch.tensor([0.0, 1.0], dtype=torch.float64)
        >>> rank_pos, q, update = rank_sort_positives(p, torch.tensor([0.5, 0.9], dtype=torch.float64), 0.5)
        >>> rank_pos.tolist(), q.tolist(), update.tolist()
        ([1.5, 0.5], [0.0, 0.0], [0.0, 0.0])
    """
    load_extension()
    return torch.ops.mmdet_losses.rank_sort_positives(scores.detach(), values.detach(), float(delta))


def rank_sort_negatives(scores: torch.Tensor, targets: torch.Tensor, sorted_positives: torch.Tensor,
                        rank_pos: torch.Tensor, scale: float, delta: float = 0.5):
    """The ranking part of the Rank & Sort loss over the negatives of one ranking, both passes
    with the negatives searched and binned once: ``(fp, g)`` with ``fp`` as
    :func:`false_positive_sums` gives it and ``g`` as :func:`negative_weight_sums` gives it with
    the weights ``w_i = [fp_i > 1e-10] / (rank_pos_i + fp_i) * scale`` (the same bits as those two
    calls).

    Args:
        scores, targets, sorted_positives, delta: As in :func:`false_positive_sums`.
        rank_pos (Tensor): (m,) float64, each sorted positive's rank among the positives
            (:func:`rank_sort_positives`).
        scale (float): Multiplies every weight (1 / |P| for the loss's mean).

    Example:
        >>> import torch
        >>> from mmdet_losses.ops import rank_sort_negatives
        >>> p = torch.tensor([0.0], dtype=torch.float64)
        >>> fp, g = rank_sort_negatives(torch.tensor([0.0, 1.0, 0.0]), torch.tensor([1, 0, 0]), p,
        ...                             torch.tensor([0.5], dtype=torch.float64), 1.0)
        >>> fp.tolist(), g.tolist()
        ([1.5], [0.0, 0.5, 0.25])
    """
    load_extension()
    return torch.ops.mmdet_losses.rank_sort_negatives(scores.detach(), targets, sorted_positives, rank_pos,
                                                      float(scale), float(delta))
