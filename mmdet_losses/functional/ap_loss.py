"""AP-Loss (Chen et al., "Towards Accurate One-Stage Object Detection with AP-Loss", CVPR 2019;
TPAMI 2020).

Every entry of ``scores`` is one candidate (in detection: one (anchor, class) pair of the whole
minibatch) and all entries form ONE ranking. ``targets`` marks each entry 1 (positive), 0
(negative) or -1 (ignored). With the piecewise step ``H(x) = clamp(x / (2 delta) + 1/2, 0, 1)``, each
positive i has

    rank_pos(i) = 1 + sum_{k in P, k != i} H(s_k - s_i)
    rank(i)     = rank_pos(i) + sum_{j in N} H(s_j - s_i)
    prec(i)     = rank_pos(i) / rank(i)

and, when ``interpolated``, ``iprec(i)`` is the largest ``prec`` among the positives scored at or
below it (ties: lower index first); otherwise ``iprec = prec``. The loss is ``1 - mean_i iprec(i)``.

Backward does not differentiate this step function: it returns the paper's error-driven update
(times the incoming gradient), for a positive ``-(1 - iprec(i)) / |P|`` and for a negative
``(1 / |P|) sum_i c_i H(s_j - s_i) / rank(i)``, where ``c_i = (1 - iprec(i)) / (1 - prec(i))`` when
interpolation raised positive i's precision, else 1. Ignored entries get 0. Without any positive the
loss is 0 with a zero gradient.

With ``group`` (a ``torch.distributed`` process group) the entries of every process of the group
form ONE ranking, exactly as if one process held their concatenation: see
:mod:`mmdet_losses.functional.group_ranking`.
"""
import torch

from .. import ops
from .checks import check_floating, check_ranking_arguments, integer_targets
from .group_ranking import RankingPositives
from .loop_reference import loop_entries

__all__ = ['ap_loss', 'ap_loss_reference']


def ap_loss(scores: torch.Tensor, targets: torch.Tensor, delta: float = 1.0,
            interpolated: bool = True, group=None) -> torch.Tensor:
    """AP-Loss of ``scores`` (logits, any shape, fp16/bf16/fp32/fp64, CPU or CUDA) against
    ``targets`` (same shape; 1 positive, 0 negative, -1 ignored), as a 0-dim tensor.

    ``group=None`` ranks this process's entries: the ``mmdet_losses::ap_rank`` op, O(|N| log |P|)
    time, exact (float64 accumulation). ``group=`` a process group (e.g.
    ``torch.distributed.group.WORLD``) ranks the entries of all its processes as one: every
    process returns the same loss, ties across processes are ordered by process rank, and backward
    gives each local entry W (the group size) times its gradient of that loss, so that the mean of
    the parameter gradients that DistributedDataParallel takes equals the single-process gradient
    on the concatenated minibatch. Communication is O(|P|) per call; invalid input on any process
    raises a ValueError on every process.

    Example:
        >>> import torch
        >>> from mmdet_losses.functional import ap_loss
        >>> scores = torch.tensor([2.0, 0.5, 1.0, -1.0], requires_grad=True)
        >>> targets = torch.tensor([1, 0, 1, 0])
        >>> loss = ap_loss(scores, targets)
        >>> loss.backward()
        >>> round(loss.item(), 4), scores.grad.sum().item() == 0.0
        (0.0556, True)
    """
    targets = integer_targets('ap_loss', targets)
    if group is None:
        loss, _ = ops.ap_rank(scores, targets, delta, interpolated)
        return loss
    check_ranking_arguments('ap_loss', scores, targets, delta)
    return _GroupAPLoss.apply(scores, targets, float(delta), bool(interpolated), group)


class _GroupAPLoss(torch.autograd.Function):
    """AP-Loss over every process of a group; like the op, forward computes the error-driven
    gradient and backward scales it."""

    @staticmethod
    def forward(ctx, scores, targets, delta, interpolated, group):
        positives = RankingPositives('ap_loss', scores, targets, delta, group)
        p = positives.sorted_scores
        m = p.numel()
        if m == 0:
            ctx.save_for_backward(torch.zeros_like(scores))
            return scores.new_zeros(())
        iprec, weights = _positive_step(p, positives.false_positives, delta, interpolated)
        # W times the exact gradient: DDP divides the summed parameter gradients by W.
        scale = positives.world_size / m
        grad = ops.negative_weight_sums(scores, targets, p, weights * scale, delta)
        grad.view(-1)[positives.local_index] = (
            -(1 - iprec[positives.local_positions]) * scale).to(grad.dtype)
        ctx.save_for_backward(grad)
        return (1 - iprec.mean()).to(scores.dtype)

    @staticmethod
    def backward(ctx, grad_loss):
        (grad,) = ctx.saved_tensors
        return grad * grad_loss, None, None, None, None


def _positive_step(p, false_positives, delta, interpolated):
    """The per-positive step over the m sorted positive scores ``p`` given their false-positive
    sums: (interpolated precision, pass-2 weight c_i / rank(i)) of each, float64."""
    zeros = torch.zeros_like(p, dtype=torch.int8)
    # Ranked against itself a positive adds H(0) = 1/2; rank_pos counts it as 1.
    rank_pos = 0.5 + ops.false_positive_sums(p, zeros, p, delta)
    rank = rank_pos + false_positives
    prec = rank_pos / rank
    if not interpolated:
        return prec, 1 / rank
    # Positives in ascending score: each takes the best precision at or below it; where that
    # raised its own, the paper's update scales its negatives by (1 - iprec) / (1 - prec).
    iprec = torch.cummax(prec, dim=0).values
    raised = prec < iprec
    c = torch.where(raised, (1 - iprec) / torch.where(raised, 1 - prec, 1), 1)
    return iprec, c / rank


def ap_loss_reference(scores: torch.Tensor, targets: torch.Tensor, delta: float = 1.0,
                      interpolated: bool = True, prune: bool = False) -> torch.Tensor:
    """The same loss and gradient as :func:`ap_loss`, computed the way the published
    implementations do: a loop over the positives, each compared with every entry, O(|P| (|P| +
    |N|)). Kept as the test oracle and the benchmark baseline. Computes in float32 (float64 for
    float64 scores).

    ``prune=True`` first drops the negatives below the lowest positive score minus ``delta`` (they
    are 0 against every positive), as the authors' code (cccorn/AP-loss, ``lib/model/aploss.py``)
    does: the same result, and the official algorithm as it runs."""
    _check_arguments(scores, targets, delta)
    return _APLossReference.apply(scores, targets, float(delta), bool(interpolated), bool(prune))


def _check_arguments(scores, targets, delta):
    check_floating('ap_loss', 'scores', scores)
    check_ranking_arguments('ap_loss', scores, targets, delta)
    bad = (targets != 1) & (targets != 0) & (targets != -1)
    if bad.any():
        index = int(bad.reshape(-1).nonzero()[0])
        raise ValueError('ap_loss: targets must be 1 (positive), 0 (negative) or -1 (ignored), '
                         f'got {targets.reshape(-1)[index].item()} at flat index {index}')
    if not torch.isfinite(scores).all():
        index = int((~torch.isfinite(scores)).reshape(-1).nonzero()[0])
        raise ValueError(f'ap_loss: scores must be finite, got {scores.reshape(-1)[index].item()} '
                         f'at flat index {index}')


class _APLossReference(torch.autograd.Function):

    @staticmethod
    def forward(ctx, scores, targets, delta, interpolated, prune):
        loss, grad = _per_positive_loop(scores, targets, delta, interpolated, prune)
        ctx.save_for_backward(grad)
        return loss

    @staticmethod
    def backward(ctx, grad_loss):
        (grad,) = ctx.saved_tensors
        return grad * grad_loss, None, None, None, None


def _per_positive_loop(scores, targets, delta, interpolated, prune):
    s, positives, negatives, pos_scores, neg_scores, step = loop_entries(scores, targets == 1, targets == 0, delta,
                                                                         prune)
    m = positives.numel()
    grad = torch.zeros_like(s)
    if m == 0:
        return scores.new_zeros(()), grad.to(scores.dtype).view_as(scores)
    neg_grad = torch.zeros_like(neg_scores)
    sum_iprec = s.new_zeros(())
    running_max = s.new_tensor(-1.0)
    # Ascending score, ties by ascending index: interpolation takes the best precision among the
    # positives ranked at or below each one.
    for i in torch.sort(pos_scores, stable=True).indices.tolist():
        h_neg = step(neg_scores - pos_scores[i])
        # The sum includes the positive itself (H(0) = 1/2); rank_pos counts it as 1.
        rank_pos = 0.5 + step(pos_scores - pos_scores[i]).sum()
        rank = rank_pos + h_neg.sum()
        prec = rank_pos / rank
        if interpolated:
            iprec = torch.maximum(prec, running_max)
            c = torch.where(prec >= running_max, torch.ones_like(prec), (1 - iprec) / (1 - prec))
            running_max = iprec
        else:
            iprec, c = prec, 1.0
        grad[positives[i]] = -(1 - iprec) / m
        neg_grad += (c / (rank * m)) * h_neg
        sum_iprec = sum_iprec + iprec
    grad[negatives] = neg_grad
    loss = 1 - sum_iprec / m
    return loss.to(scores.dtype), grad.to(scores.dtype).view_as(scores)
