"""The whole AP-Loss of one ranking as one op (see :mod:`mmdet_losses.functional.ap_loss` for the
definition): ``torch.ops.mmdet_losses.ap_rank``, O(|N| log |P|) time, float64 accumulation."""
import torch

from .extension import load_extension

__all__ = ['ap_rank']


def ap_rank(scores: torch.Tensor, targets: torch.Tensor, delta: float = 1.0, interpolated: bool = True):
    """``(loss, grad)``: the AP-Loss of ``scores`` against ``targets`` (1 positive, 0 negative, -1
    ignored; same shape) as a 0-dim tensor, and every entry's error-driven update in ``scores``'
    shape and dtype. The loss is differentiable: backward returns ``grad`` times the incoming
    gradient.

    Example:
        >>> import torch
        >>> from mmdet_losses.ops import ap_rank
        >>> loss, grad = ap_rank(torch.tensor([2.0, 0.5, 1.0, -1.0]), torch.tensor([1, 0, 1, 0]))
        >>> round(loss.item(), 4)
        0.0556
    """
    load_extension()
    return torch.ops.mmdet_losses.ap_rank(scores, targets, float(delta), bool(interpolated))
