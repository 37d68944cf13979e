"""What the per-positive loops share: the ``*_reference`` functions, test oracles and benchmark
baselines written the way the authors' code runs (a loop over the positives, each against every
entry)."""
import functools
from typing import Callable, NamedTuple

import torch


class LoopEntries(NamedTuple):
    scores: torch.Tensor      # every score, flat, in float32 (float64 for float64 scores)
    positives: torch.Tensor   # the positives' flat indices, ascending
    negatives: torch.Tensor   # mask of the negatives kept
    pos_scores: torch.Tensor
    neg_scores: torch.Tensor
    step: Callable[[torch.Tensor], torch.Tensor]  # H(x) = clamp(x / (2 delta) + 1/2, 0, 1)


def loop_entries(scores: torch.Tensor, is_positive: torch.Tensor, is_negative: torch.Tensor, delta: float,
                 prune: bool) -> LoopEntries:
    """The entries a loop ranks. ``prune`` drops the negatives below the lowest positive score
    minus ``delta`` (H = 0 against every positive), as the authors' code does."""
    s = scores.detach().reshape(-1).to(torch.promote_types(scores.dtype, torch.float32))
    positives = torch.nonzero(is_positive.reshape(-1)).squeeze(1)
    negatives = is_negative.reshape(-1)
    pos_scores = s[positives]
    if prune and positives.numel():
        negatives = negatives & (s >= pos_scores.min() - delta)
    return LoopEntries(s, positives, negatives, pos_scores, s[negatives], functools.partial(_step, delta=delta))


def _step(x: torch.Tensor, delta: float) -> torch.Tensor:
    return torch.clamp(x / (2 * delta) + 0.5, 0, 1)
