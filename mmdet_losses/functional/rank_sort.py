"""Rank & Sort (RS) loss (Oksuz, Cam, Akbas, Kalkan, "Rank & Sort Loss for Object Detection and
Instance Segmentation", ICCV 2021).

Every entry of ``scores`` is one candidate and all entries form ONE ranking, as in AP-Loss.
``targets`` holds, per entry, ``y > 0`` for a positive (its sorting target: the IoU of its predicted
box with its ground truth, in (0, 1]), 0 for a negative and -1 for an ignored entry. With
``H(x) = clamp(x / (2 delta) + 1/2, 0, 1)`` and ``x_ik = s_k - s_i``, each positive i has (paper,
eq. 7-8)

    rank_pos(i) = sum_{k in P} H(x_ik)          (i itself adds H(0) = 1/2)
    fp(i)       = sum_{j in N} H(x_ij)
    rank(i)     = rank_pos(i) + fp(i)
    r_i = fp(i) / rank(i)                                                  (ranking error)
    q_i = sum_{k in P} H(x_ik) (1 - y_k) / rank_pos(i)
          - sum_{k in P, y_k >= y_i} H(x_ik) (1 - y_k) / sum_{k in P, y_k >= y_i} H(x_ik)   (sorting error)

and the losses are ``mean_i r_i`` (ranking) and ``mean_i q_i`` (sorting). Backward does not
differentiate the step function: each value carries the paper's error-driven update (its
"identity update"), divided by |P|. Ranking: if fp(i) > eps, positive i gets ``-r_i`` and negative j
gets ``r_i H(x_ij) / fp(i) = H(x_ij) / rank(i)``. Sorting: with ``M_ik = [y_k < y_i] H(x_ik)`` and
``D_i = sum_k M_ik``, if D_i > eps, positive i gets ``-q_i`` and every positive k gets
``q_i M_ik / D_i``. ``eps = 1e-10`` as in the authors' code. The gradient of ``ranking + sorting``
is the RS update.

The negatives' part is the ranking op's two passes (:mod:`mmdet_losses.ops.ranking_passes`): pass 1
gives every fp(i), pass 2 with ``w_i = [fp(i) > eps] / (rank(i) |P|)`` every negative's update, in
O(|N| log |P|). The sorting part involves positives only: O(|P|^2) time in O(|P|) memory
(``rank_sort_positives``; :func:`sorting_step` is the same in torch, a block of rows at a time).
Without a group one op (``mmdet_losses::rank_sort``) does it all: it finds the positives, sorts
them, runs the sorting part and both passes with the negatives searched once, and writes the
updates. With ``group`` the entries of every process form one ranking, as in :func:`ap_loss`: the
same pieces as ops of their own, between the collectives.
"""
import re
from typing import Tuple

import torch

from .. import ops
from .checks import check_finite, check_floating, check_ranking_arguments
from .group_ranking import RankingPositives, raise_together
from .loop_reference import loop_entries

__all__ = ['rank_sort_loss', 'rank_sort_loss_reference']

EPS = 1e-10
# Entries of one block of the positives' pairwise matrix: about 4 float64 matrices of this size are
# alive at once (about 130 MB), whatever the number of positives.
PAIRWISE_BLOCK = 1 << 22


def rank_sort_loss(scores: torch.Tensor, targets: torch.Tensor, delta: float = 0.5,
                   group=None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Rank & Sort loss of ``scores`` (logits, any shape, fp16/bf16/fp32/fp64, CPU or CUDA)
    against ``targets`` (floating, same shape: ``y`` in (0, 1] positive with sorting target ``y``,
    0 negative, -1 ignored), as two 0-dim tensors ``(ranking_loss, sorting_loss)``.

    Each value carries its own error-driven update (see the module docstring); backward of their
    sum applies the RS update. ``group`` (a ``torch.distributed`` process group) ranks the entries
    of all its processes as one, exactly as :func:`ap_loss` does: every process returns the same
    values and backward gives each local entry W (the group size) times its gradient. Without
    positives both values are 0 with a zero gradient.

    Example:
        >>> import torch
        >>> from mmdet_losses.functional import rank_sort_loss
        >>> scores = torch.tensor([2.0, 0.5, 1.0, -1.0], requires_grad=True)
        >>> targets = torch.tensor([0.6, 0.0, 0.9, 0.0])
        >>> ranking, sorting = rank_sort_loss(scores, targets)
        >>> (ranking + sorting).backward()
        >>> round(ranking.item(), 4), round(sorting.item(), 4), scores.grad.sum().abs().item() < 1e-7
        (0.0, 0.1, True)
    """
    _check_arguments(scores, targets, delta)
    if group is None:
        try:
            ranking, sorting, *_ = ops.rank_sort(scores, targets, delta)
        except ValueError as caught:
            raise _renamed(caught) from None
        return ranking, sorting
    raise_together('rank_sort_loss', _bad_target(targets), group, scores.device)
    return _GroupRankSortLoss.apply(scores, targets, float(delta), group)


def _renamed(error: ValueError) -> ValueError:
    # The kernels name themselves; the user called rank_sort_loss.
    return ValueError(re.sub(r'^\w+: ', 'rank_sort_loss: ', str(error)))


def _check_arguments(scores, targets, delta):
    check_ranking_arguments('rank_sort_loss', scores, targets, delta)
    check_floating('rank_sort_loss', 'scores', scores)
    check_floating('rank_sort_loss', 'targets', targets)


def _bad_target(targets):
    if targets.numel() == 0:
        return None
    # Two or three passes when every target is valid: within [-1, 1] (a NaN fails the bounds too),
    # the only invalid values left are the fractions in (-1, 0).
    low, high = torch.aminmax(targets.detach())
    if low >= -1 and high <= 1 and not (low < 0 and torch.clamp(targets.detach(), max=0).frac_().any()):
        return None
    valid = (targets == 0) | (targets == -1) | ((targets > 0) & (targets <= 1))
    index = int((~valid).reshape(-1).nonzero()[0])
    return ValueError('rank_sort_loss: targets must be in (0, 1] (a positive and its IoU), 0 (negative) '
                      f'or -1 (ignored), got {targets.reshape(-1)[index].item()} at flat index {index}')


class _GroupRankSortLoss(torch.autograd.Function):
    """The loss over every process of a group. Forward computes both error-driven updates; backward
    combines them with the incoming gradients. The sorting update touches positives only and is
    kept as (index, value) pairs."""

    @staticmethod
    def forward(ctx, scores, targets, delta, group):
        roles = torch.sign(targets).to(torch.int8)
        positives = RankingPositives('rank_sort_loss', scores, roles, delta, group,
                                     values=lambda index: targets.reshape(-1)[index])
        p, y = positives.sorted_scores, positives.sorted_values
        m = p.numel()
        if m == 0:
            ctx.save_for_backward(torch.zeros_like(scores), positives.local_index, p)
            return scores.new_zeros(()), scores.new_zeros(())
        rank_pos, sorting_error, sorting_grad = ops.rank_sort_positives(p, y, delta)
        # W times the exact gradient: DDP divides the summed gradients by W.
        scale = positives.world_size / m
        fp = positives.false_positives
        rank = rank_pos + fp
        ranking_grad = ops.negative_weight_sums(scores, roles, p, (fp > EPS) / rank * scale, delta)
        ranking_error = fp / rank
        updated = fp > EPS
        local = positives.local_positions
        ranking_grad.view(-1)[positives.local_index] = (
            -torch.where(updated, ranking_error, 0)[local] * scale).to(ranking_grad.dtype)
        ctx.save_for_backward(ranking_grad, positives.local_index, sorting_grad[local] * scale)
        return ranking_error.mean().to(scores.dtype), sorting_error.mean().to(scores.dtype)

    @staticmethod
    def backward(ctx, grad_ranking, grad_sorting):
        ranking_grad, index, sorting_grad = ctx.saved_tensors
        grad = ranking_grad * grad_ranking
        grad.view(-1).index_add_(0, index, (sorting_grad * grad_sorting).to(grad.dtype))
        return grad, None, None, None


def sorting_step(p: torch.Tensor, y: torch.Tensor, delta: float):
    """The positives' part of RS in torch (the reference of the op ``rank_sort_positives``, which
    the loss runs), given their scores ``p`` and sorting targets ``y`` (m,) float64:
    ``(rank_pos, sorting error q, sorting update of every positive times |P|)``, each (m,) float64.
    Builds the pairwise matrix ``H(p_k - p_i)`` a block of rows at a time."""
    m = p.numel()
    rank_pos = torch.empty_like(p)
    sorting_error = torch.empty_like(p)
    update = torch.zeros_like(p)
    misfit = 1 - y
    # H(p_k - p_i) = clamp(p_k / (2 delta) - (p_i / (2 delta) - 1/2), 0, 1): one subtraction and an
    # in-place clamp per block.
    scaled = p / (2 * delta)
    rows = max(1, PAIRWISE_BLOCK // m)
    for start in range(0, m, rows):
        block = slice(start, start + rows)
        h = torch.clamp_(scaled - (scaled[block, None] - 0.5), 0, 1)
        rank_pos[block] = h.sum(1)
        # Among the positives with a target at least as high as i's: where i would stand if the
        # positives were sorted by their targets.
        target_order = torch.where(y >= y[block, None], h, 0.0)
        current = h @ misfit / rank_pos[block]
        target = target_order @ misfit / target_order.sum(1)
        q = current - target
        sorting_error[block] = q
        missorted = h.sub_(target_order)
        denominator = missorted.sum(1)
        moved = denominator > EPS
        update += torch.where(moved, q / denominator, 0) @ missorted
        update[block] -= torch.where(moved, q, 0)
    return rank_pos, sorting_error, update


def rank_sort_loss_reference(scores: torch.Tensor, targets: torch.Tensor, delta: float = 0.5,
                             prune: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
    """The same losses and updates as :func:`rank_sort_loss`, computed the way the authors' code
    does (kemaloksuz/RankSortLoss): a loop over the positives in ascending score, each compared
    with every positive and every negative, O(|P| (|P| + |N|)). Kept as the test oracle and the
    benchmark baseline; computes in float32 (float64 for float64 scores).

    ``prune=True`` first drops the negatives below the lowest positive score minus ``delta`` (0
    against every positive), as the authors' code does: the same result, and their algorithm as it
    runs."""
    _check_arguments(scores, targets, delta)
    error = _bad_target(targets)
    if error is not None:
        raise error
    check_finite('rank_sort_loss', 'scores', scores)
    return _RankSortReference.apply(scores, targets, float(delta), bool(prune))


class _RankSortReference(torch.autograd.Function):

    @staticmethod
    def forward(ctx, scores, targets, delta, prune):
        ranking, sorting, ranking_grad, sorting_grad = _per_positive_loop(scores, targets, delta, prune)
        ctx.save_for_backward(ranking_grad, sorting_grad)
        return ranking, sorting

    @staticmethod
    def backward(ctx, grad_ranking, grad_sorting):
        ranking_grad, sorting_grad = ctx.saved_tensors
        return ranking_grad * grad_ranking + sorting_grad * grad_sorting, None, None, None


def _per_positive_loop(scores, targets, delta, prune):
    s, positives, negatives, pos_scores, neg_scores, step = loop_entries(scores, targets > 0, targets == 0, delta,
                                                                         prune)
    t = targets.reshape(-1).to(s.dtype)
    m = positives.numel()
    ranking_grad = torch.zeros_like(s)
    sorting_grad = torch.zeros_like(s)
    if m == 0:
        zero_grad = ranking_grad.to(scores.dtype).view_as(scores)
        return scores.new_zeros(()), scores.new_zeros(()), zero_grad, zero_grad.clone()

    y = t[positives]
    neg_grad = torch.zeros_like(neg_scores)
    pos_ranking_grad = torch.zeros_like(pos_scores)
    pos_sorting_grad = torch.zeros_like(pos_scores)
    ranking_error = torch.zeros_like(pos_scores)
    sorting_error = torch.zeros_like(pos_scores)
    for i in torch.argsort(pos_scores).tolist():
        h_pos = step(pos_scores - pos_scores[i])
        h_neg = step(neg_scores - pos_scores[i])
        rank_pos = h_pos.sum()
        fp = h_neg.sum()
        ranking_error[i] = fp / (rank_pos + fp)
        at_or_above = y >= y[i]
        target_order = h_pos * at_or_above
        sorting_error[i] = ((h_pos * (1 - y)).sum() / rank_pos
                            - (target_order * (1 - y)).sum() / target_order.sum())
        if fp > EPS:
            pos_ranking_grad[i] -= ranking_error[i]
            neg_grad += h_neg * (ranking_error[i] / fp)
        missorted = h_pos * ~at_or_above
        denominator = missorted.sum()
        if denominator > EPS:
            pos_sorting_grad[i] -= sorting_error[i]
            pos_sorting_grad += missorted * (sorting_error[i] / denominator)
    ranking_grad[positives] = pos_ranking_grad / m
    ranking_grad[negatives] = neg_grad / m
    sorting_grad[positives] = pos_sorting_grad / m
    return (ranking_error.mean().to(scores.dtype), sorting_error.mean().to(scores.dtype),
            ranking_grad.to(scores.dtype).view_as(scores), sorting_grad.to(scores.dtype).view_as(scores))
