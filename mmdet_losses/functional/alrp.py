"""aLRP Loss (Oksuz, Cam, Akbas, Kalkan, "A Ranking-based, Balanced Loss Function Unifying
Classification and Localisation in Object Detection", NeurIPS 2020).

One ranking trains both branches. Every entry of ``scores`` is one candidate and all entries form
ONE ranking, as in AP-Loss; ``targets`` marks each entry 1 (positive), 0 (negative) or -1
(ignored), and each positive k carries a localisation error ``e_k`` (``box_errors``: e.g. its GIoU
loss divided by 2 (1 - tau), 1 for GIoU with tau = 0.5). With ``H(x) = clamp(x / (2 delta) + 1/2, 0,
1)`` and ``x_ik = s_k - s_i``, each positive i has

    rank_pos(i) = 1 + sum_{k in P, k != i} H(x_ik)
    fp(i)       = sum_{j in N} H(x_ij)
    rank(i)     = rank_pos(i) + fp(i)

and the two values, as the authors' code computes them (kemaloksuz/aLRPLoss, its ``aLRPLoss``
function and ``aLRPLossRetinaHead``; where it differs from the paper's equations, the code's figures
are the published ones):

- classification ``1 - mean_i rank_pos(i) / rank(i)`` (the localisation errors enter
  through its update);
- localisation ``mean_i (sum of e_k over the positives at or above i in the hard score order) /
  rank(i)`` (the code: a cumulative sum of the errors in descending score order, i's own included,
  divided by the smoothed rank, held fixed), differentiable in ``box_errors``.

The classification value's backward is the paper's error-driven update, divided
by |P|: where fp(i) > 1e-5, positive i gets ``-(S_i + fp(i)) / rank(i)`` with ``S_i = sum_{k in P, k
!= i} H(x_ik) e_k`` (its own error left out, as in the code), and each negative j gets its share
``H(x_ij) / fp(i)`` of that, summed over the positives; the updates add up to 0 (the paper's
balance of positives and negatives). The errors are constants to it.

Ties: the code orders tied positives as ``torch.argsort`` (not stable) happens to, reversed; here
ties are broken by flat index, a later positive counted above an earlier one of the same score
(under a group: by process rank first). On tie-free scores the two agree.

The negatives take the ranking op's two passes (:mod:`mmdet_losses.ops.ranking_passes`,
O(|N| log |P|)); the positives' part is O(|P| log |P|) (the same passes with the positives as
scores). With ``group`` the entries of every process form one ranking, as in :func:`ap_loss`.
"""
from typing import NamedTuple, Optional, Tuple

import torch

from .. import ops
from .checks import check_finite, check_floating, check_ranking_arguments, check_values_in, integer_targets
from .group_ranking import RankingPositives
from .loop_reference import loop_entries

__all__ = ['alrp_loss', 'alrp_loss_reference']

# The authors' threshold on fp(i) below which a positive gets no classification update.
EPS = 1e-5


def alrp_loss(scores: torch.Tensor, targets: torch.Tensor, box_errors: torch.Tensor, delta: float = 1.0,
              group=None) -> Tuple[torch.Tensor, torch.Tensor]:
    """aLRP Loss of ``scores`` (logits, any shape, fp16/bf16/fp32/fp64, CPU or CUDA) against
    ``targets`` (same shape; 1 positive, 0 negative, -1 ignored) and the positives' localisation
    errors ``box_errors`` ((P,), one per positive in the order of ``(targets == 1)`` flattened), as
    two 0-dim tensors ``(classification, localisation)``; see the module docstring.

    ``classification``'s backward is the error-driven update (to ``scores`` only);
    ``localisation`` is differentiable in ``box_errors`` with the ranks held fixed. ``group`` (a
    ``torch.distributed`` process group) ranks the entries of all its processes as one, exactly as
    :func:`ap_loss` does: every process returns the same values and backward gives each local
    entry W (the group size) times its gradient. Without positives both values are 0 with zero
    gradients.

    Example:
        >>> import torch
        >>> from mmdet_losses.functional import alrp_loss
        >>> scores = torch.tensor([2.0, 0.5, 1.0, -1.0], requires_grad=True)
        >>> targets = torch.tensor([1, 0, 1, 0])
        >>> errors = torch.tensor([0.2, 0.6], requires_grad=True)
        >>> classification, localisation = alrp_loss(scores, targets, errors)
        >>> (classification + localisation).backward()
        >>> round(classification.item(), 4), round(localisation.item(), 4), scores.grad.sum().abs().item() < 1e-7
        (0.0556, 0.2778, True)
    """
    targets = _checked_targets(scores, targets, box_errors, delta)
    with torch.no_grad():
        ranking = _rank(scores, targets, box_errors, float(delta), group)
    if ranking is None:
        return scores.sum() * 0, box_errors.sum() * 0
    classification = _ErrorDriven.apply(scores, ranking.classification, ranking.update)
    # The value is the whole ranking's; the gradient W times this process's share.
    local = (box_errors * ranking.coefficients[ranking.local_positions].to(box_errors.dtype)).sum()
    whole = ranking.localisation.to(box_errors.dtype)
    localisation = ranking.world_size * local + (whole - ranking.world_size * local).detach()
    return classification, localisation


class _ErrorDriven(torch.autograd.Function):
    """``value``, whose backward to ``scores`` is ``update`` times the incoming gradient: the
    paper's error-driven update in place of the (zero almost everywhere) derivative."""

    @staticmethod
    def forward(ctx, scores, value, update):
        ctx.save_for_backward(update)
        return value.clone()

    @staticmethod
    def backward(ctx, grad_value):
        (update,) = ctx.saved_tensors
        return update * grad_value, None, None


def _checked_targets(scores, targets, box_errors, delta):
    """``targets`` as integers, once the arguments' shapes and dtypes and ``delta`` are checked."""
    targets = integer_targets('alrp_loss', targets)
    check_ranking_arguments('alrp_loss', scores, targets, delta)
    check_floating('alrp_loss', 'scores', scores)
    check_floating('alrp_loss', 'box_errors', box_errors)
    return targets


def _checked_box_errors(positives: int, box_errors):
    """``box_errors``, once they are one finite value for each of the ``positives``."""
    if box_errors.shape != (positives,):
        raise ValueError(f'alrp_loss: box_errors must have one value per positive, shape ({positives},), got '
                         f'{tuple(box_errors.shape)}')
    bad = ~torch.isfinite(box_errors.detach())
    if bad.any():
        index = int(bad.nonzero()[0])
        raise ValueError(f'alrp_loss: box_errors must be finite, got {box_errors[index].item()} at index {index}')
    return box_errors


class _Ranking(NamedTuple):
    classification: torch.Tensor  # 0-dim, the scores' dtype
    update: torch.Tensor          # the classification update of every entry, the scores' shape
    coefficients: torch.Tensor    # (m,) float64: localisation = sum_b e_b coefficients_b (sorted order)
    localisation: torch.Tensor    # 0-dim float64, the whole ranking's
    local_positions: torch.Tensor
    world_size: int


def _rank(scores, targets, box_errors, delta, group) -> Optional[_Ranking]:
    """The ranking of every entry (of every process of ``group``), or None without positives."""
    positives = RankingPositives('alrp_loss', scores, targets, delta, group,
                                 values=lambda index: _checked_box_errors(index.numel(), box_errors))
    p, e, fp = positives.sorted_scores, positives.sorted_values, positives.false_positives
    m = p.numel()
    if m == 0:
        return None
    zeros = torch.zeros_like(p, dtype=torch.int8)
    # sum_k H(p_k - p_i) over every positive, i itself adding H(0) = 1/2; with H(x) + H(-x) = 1 the
    # error-weighted sum is the total minus the pass that weighs H(p_i - p_k).
    rank_pos = 0.5 + ops.false_positive_sums(p, zeros, p, delta)
    rank = rank_pos + fp
    errors_above = e.sum() - ops.negative_weight_sums(p, zeros, p, e, delta) - 0.5 * e
    updated = fp > EPS
    share = torch.where(updated, (errors_above + fp) / rank, 0)
    # W times the exact gradient under a group: DDP divides the summed gradients by W.
    scale = positives.world_size / m
    update = ops.negative_weight_sums(scores, targets, p, share / torch.where(updated, fp, 1) * scale, delta)
    update.view(-1)[positives.local_index] = (-share[positives.local_positions] * scale).to(update.dtype)
    # Sorted ascending, the error of the b-th positive counts for every positive at or below it.
    coefficients = torch.cumsum(1 / rank, dim=0) / m
    return _Ranking((1 - (rank_pos / rank).mean()).to(scores.dtype), update, coefficients,
                    (e * coefficients).sum(), positives.local_positions, positives.world_size)


def alrp_loss_reference(scores: torch.Tensor, targets: torch.Tensor, box_errors: torch.Tensor,
                        delta: float = 1.0, prune: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
    """The same values and updates as :func:`alrp_loss`, computed the way the authors' code does: a
    loop over the positives in ascending score, each compared with every positive and every
    negative, O(|P| (|P| + |N|)). The test oracle and the benchmark baseline; computes in float32
    (float64 for float64 scores). ``prune=True`` first drops the negatives below the lowest
    positive score minus ``delta``, as the authors' code does (the same result)."""
    targets = _checked_targets(scores, targets, box_errors, delta)
    check_values_in('alrp_loss', 'targets', targets, (1, 0, -1), ' (1 positive, 0 negative, -1 ignored)')
    _checked_box_errors(int((targets == 1).sum()), box_errors)
    check_finite('alrp_loss', 'scores', scores)
    return _ALRPReference.apply(scores, targets, box_errors, float(delta), bool(prune))


class _ALRPReference(torch.autograd.Function):

    @staticmethod
    def forward(ctx, scores, targets, box_errors, delta, prune):
        ctx.box_dtype = box_errors.dtype
        s, positives, negatives, pos_scores, neg_scores, step = loop_entries(scores, targets == 1, targets == 0,
                                                                             delta, prune)
        m = positives.numel()
        grad = torch.zeros_like(s)
        e = box_errors.detach().to(s.dtype)
        if m == 0:
            ctx.save_for_backward(grad.to(scores.dtype).view_as(scores), e.new_zeros(0))
            return scores.new_zeros(()), box_errors.new_zeros(())
        neg_grad = torch.zeros_like(neg_scores)
        pos_grad = torch.zeros_like(pos_scores)
        precision = torch.zeros_like(pos_scores)
        localisation = torch.zeros_like(pos_scores)
        coefficient = torch.zeros_like(pos_scores)
        order = torch.argsort(pos_scores, stable=True)
        position = torch.empty_like(order)
        position[order] = torch.arange(m)
        for i in order.tolist():
            h_pos = step(pos_scores - pos_scores[i])
            h_pos[i] = 0
            h_neg = step(neg_scores - pos_scores[i])
            rank_pos = 1 + h_pos.sum()
            fp = h_neg.sum()
            rank = rank_pos + fp
            precision[i] = rank_pos / rank
            at_or_above = position >= position[i]
            localisation[i] = e[at_or_above].sum() / rank
            coefficient[at_or_above] += 1 / rank
            if fp > EPS:
                pos_grad[i] = -((h_pos * e).sum() + fp) / rank
                neg_grad += h_neg * (-pos_grad[i] / fp)
        grad[positives] = pos_grad / m
        grad[negatives] = neg_grad / m
        ctx.save_for_backward(grad.to(scores.dtype).view_as(scores), coefficient / m)
        return (1 - precision.mean()).to(scores.dtype), localisation.mean().to(box_errors.dtype)

    @staticmethod
    def backward(ctx, grad_classification, grad_localisation):
        grad, coefficient = ctx.saved_tensors
        box_grad = (coefficient * grad_localisation).to(ctx.box_dtype) if coefficient.numel() else None
        return grad * grad_classification, None, box_grad, None, None
