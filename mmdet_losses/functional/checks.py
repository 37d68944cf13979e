"""Argument checks every loss of the package applies the same way: a bad argument is a ValueError
that names the function, the argument and the offending value, never a crash deep inside, a hang
or a silent NaN."""
import math

import torch

__all__ = ['check_finite', 'check_floating', 'check_ranking_arguments', 'check_values_in', 'integer_targets']


def check_floating(fn: str, name: str, tensor: torch.Tensor) -> None:
    if not (isinstance(tensor, torch.Tensor) and tensor.is_floating_point()):
        got = tensor.dtype if isinstance(tensor, torch.Tensor) else type(tensor).__name__
        raise ValueError(f'{fn}: {name} must be a floating-point tensor, got {got}')


def check_finite(fn: str, name: str, tensor: torch.Tensor) -> None:
    """Raises for the first NaN or infinite value of ``tensor`` (detached; one reduction when all
    values are finite)."""
    values = tensor.detach()
    if values.numel() and not torch.isfinite(values).all():
        index = int((~torch.isfinite(values)).reshape(-1).nonzero()[0])
        raise ValueError(f'{fn}: {name} must be finite, got {values.reshape(-1)[index].item()} at '
                         f'flat index {index}')


def check_values_in(fn: str, name: str, tensor: torch.Tensor, allowed: tuple, meaning: str = '') -> None:
    """Raises for the first value of ``tensor`` outside ``allowed``."""
    bad = ~torch.isin(tensor, torch.tensor(allowed, dtype=tensor.dtype, device=tensor.device))
    if bad.any():
        index = int(bad.reshape(-1).nonzero()[0])
        raise ValueError(f'{fn}: {name} must be in {allowed}{meaning}, got {tensor.reshape(-1)[index].item()} '
                         f'at flat index {index}')


def check_ranking_arguments(fn: str, scores: torch.Tensor, targets: torch.Tensor, delta: float) -> None:
    """What a ranking loss checks before it looks at values: matching shapes and delta > 0."""
    if scores.shape != targets.shape:
        raise ValueError(f'{fn}: scores and targets must have the same shape, got scores '
                         f'{tuple(scores.shape)} and targets {tuple(targets.shape)}')
    if not (delta > 0 and math.isfinite(delta)):
        raise ValueError(f'{fn}: delta must be a finite number > 0, got {delta:g}')


def integer_targets(fn: str, targets: torch.Tensor) -> torch.Tensor:
    """Ranking targets as the ops take them: integer tensors pass through; bool and floating
    tensors holding only -1, 0 and 1 become int8."""
    if not targets.is_floating_point() and targets.dtype != torch.bool:
        return targets
    as_int = targets.to(torch.int8)
    if targets.is_floating_point() and not torch.equal(as_int.to(targets.dtype), targets):
        raise ValueError(f'{fn}: targets must hold only 1 (positive), 0 (negative) or -1 (ignored); got '
                         f'non-integer or out-of-range values in a {targets.dtype} tensor')
    return as_int
