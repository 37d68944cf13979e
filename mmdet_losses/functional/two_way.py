"""Two-way multi-label loss (Kobayashi, "Two-way Multi-Label Loss", CVPR 2023).

For a set P of positive logits and a set N of negative logits, with temperatures T_P and T_N,

    l(P, N) = softplus(T_N * logsumexp_{n in N}(x_n / T_N) + T_P * logsumexp_{p in P}(-x_p / T_P))

a smooth version of "the lowest positive beats the highest negative". The loss applies it two ways
to a (samples, classes) logit matrix with labels 1 / 0 / -1 (ignored): over each row's classes
(sample-wise, averaged over the rows that have a positive) and over each column's samples
(class-wise, averaged over the columns that have a positive), and adds the two.

An empty negative set makes its logsumexp -inf and the term softplus(-inf) = 0 exactly; it is
computed as such, with no NaN in the value or the gradient. Adding one constant to every logit
leaves the loss unchanged (eq. iii of the paper's supplement).

With ``group`` (a ``torch.distributed`` process group) the rows of every process form one matrix:
the class-wise logsumexps and both averages are taken over all processes (one all-reduce of C + 2
values and one of 2 C values per call), every process returns the same loss, and backward gives
each local logit W (the group size) times its gradient of that loss, as DistributedDataParallel's
averaging expects.
"""
import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_nn
import torch.nn.functional as F

from .checks import check_finite, check_floating, check_values_in
from .group_ranking import check_group, raise_together

__all__ = ['two_way_loss']


def _check_values(logits, targets):
    if logits.dim() != 2 or targets.shape != logits.shape:
        raise ValueError('two_way_loss: logits and targets must both have shape (n, C), got '
                         f'{tuple(logits.shape)} and {tuple(targets.shape)}')
    check_floating('two_way_loss', 'logits', logits)
    check_values_in('two_way_loss', 'targets', targets, (-1, 0, 1), ' (1 positive, 0 negative, -1 ignored)')
    check_finite('two_way_loss', 'logits', logits)


def _masked_logsumexp(x: torch.Tensor, mask: torch.Tensor, dim: int):
    """logsumexp of the entries of x where mask holds, along dim, and whether there were any. Lines
    without entries get 0 in place of -inf so that neither value nor gradient becomes NaN; the
    caller masks them out."""
    nonempty = mask.any(dim)
    safe = x.masked_fill(~mask, float('-inf')).masked_fill(~nonempty.unsqueeze(dim), 0.0)
    return safe.logsumexp(dim), nonempty


def _group_masked_logsumexp(x: torch.Tensor, mask: torch.Tensor, group):
    """_masked_logsumexp along dim 0 over the rows of every process of ``group``. The shift is
    the global maximum (a constant for autograd); the sums of exponentials are all-reduced with
    autograd, so each process's rows receive the gradient of the global value."""
    masked = x.detach().masked_fill(~mask, float('-inf'))
    shift = masked.amax(0) if masked.size(0) else masked.new_full(masked.shape[1:], float('-inf'))
    dist.all_reduce(shift, op=dist.ReduceOp.MAX, group=group)
    nonempty = torch.isfinite(shift)
    shift = torch.where(nonempty, shift, torch.zeros_like(shift))
    exponentials = (x - shift).masked_fill(~mask, float('-inf')).exp()
    total = dist_nn.all_reduce(exponentials.sum(0), group=group)
    return torch.log(torch.where(nonempty, total, torch.ones_like(total))) + shift, nonempty


def _line_losses(neg_lse, has_negative, pos_lse, has_positive, T_pos, T_neg):
    both = has_positive & has_negative
    return torch.where(both, F.softplus(T_neg * neg_lse + T_pos * pos_lse), torch.zeros_like(neg_lse))


def _two_way_term(logits, positive, negative, dim, T_pos, T_neg):
    """Mean of l(P, N) over the lines along ``dim`` (rows for dim=1) that have a positive."""
    neg_lse, has_negative = _masked_logsumexp(logits / T_neg, negative, dim)
    pos_lse, has_positive = _masked_logsumexp(-logits / T_pos, positive, dim)
    per_line = _line_losses(neg_lse, has_negative, pos_lse, has_positive, T_pos, T_neg)
    return per_line.sum() / has_positive.sum().clamp(min=1)


def _group_two_way_loss(logits, positive, negative, T_pos, T_neg, group):
    # Sample-wise: each row is local; its sum and the count of rows with a positive are global.
    neg_lse, has_negative = _masked_logsumexp(logits / T_neg, negative, 1)
    pos_lse, has_positive = _masked_logsumexp(-logits / T_pos, positive, 1)
    rows = _line_losses(neg_lse, has_negative, pos_lse, has_positive, T_pos, T_neg).sum()
    row_count = has_positive.sum().to(logits.dtype)
    rows, row_count = dist_nn.all_reduce(torch.stack([rows, row_count]), group=group).unbind()
    # Class-wise: each column spans the processes.
    neg_lse, has_negative = _group_masked_logsumexp(logits / T_neg, negative, group)
    pos_lse, has_positive = _group_masked_logsumexp(-logits / T_pos, positive, group)
    columns = _line_losses(neg_lse, has_negative, pos_lse, has_positive, T_pos, T_neg)
    return rows / row_count.detach().clamp(min=1) + columns.sum() / has_positive.sum().clamp(min=1)


def two_way_loss(logits: torch.Tensor, targets: torch.Tensor, T_pos: float = 4.0,
                 T_neg: float = 1.0, group=None) -> torch.Tensor:
    """Two-way loss of (n, C) logits with (n, C) targets in {1, 0, -1}: the sample-wise term plus the
    class-wise term. 0 (with a zero gradient) when no target is positive. ``group``: the rows of
    every process of this ``torch.distributed`` group form one matrix (module docstring); invalid
    input on any process raises a ValueError on every process.

    Example:
        >>> import torch
        >>> from mmdet_losses.functional import two_way_loss
        >>> logits = torch.tensor([[3.0, -1.0, 0.5], [-2.0, 2.0, 1.0]])
        >>> targets = torch.tensor([[1, 0, -1], [0, 1, 1]])
        >>> round(two_way_loss(logits, targets).item(), 4)
        0.2297
    """
    if not (T_pos > 0 and T_neg > 0):
        raise ValueError(f'two_way_loss: T_pos and T_neg must be > 0, got {T_pos!r} and {T_neg!r}')
    if group is not None:
        check_group('two_way_loss', group)
        error = None
        try:
            _check_values(logits, targets)
        except ValueError as caught:
            error = caught
        raise_together('two_way_loss', error, group, logits.device)
        return _group_two_way_loss(logits, targets == 1, targets == 0, T_pos, T_neg, group)
    _check_values(logits, targets)
    positive, negative = targets == 1, targets == 0
    return (_two_way_term(logits, positive, negative, 1, T_pos, T_neg)
            + _two_way_term(logits, positive, negative, 0, T_pos, T_neg))
