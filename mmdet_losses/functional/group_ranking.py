"""One ranking over the entries of every process of a ``torch.distributed`` group, exact, without
moving a single negative: what the ranking losses need under DistributedDataParallel.

Both passes over the negatives depend on the positives only through their sorted scores, so
(AP-Loss paper, sec. 3; the same holds for every loss built on the two passes):

1. every process all-gathers the positives' scores (counts may differ) and sorts the same m values
   the same way (ties: process rank, then local index: the order of the concatenation);
2. pass 1 (``false_positive_sums``) runs locally and the m per-positive sums are all-reduced;
3. the per-positive step is then identical on every process, and pass 2 runs locally.

Communication per call is O(m): W x 2 int64 counts, W x max_r(m_r) float64 gathered scores and
m + 2 float64 summed (the first pass's sums, the negative count and an error flag), whatever the
number of negatives. Invalid input on one process (a target
outside {-1, 0, 1}, a non-finite score) travels as a flag with these collectives, so every process
raises together instead of leaving the others waiting in a collective.
"""
import re
from typing import Callable, Optional, Tuple

import torch
import torch.distributed as dist

from ..ops import false_positive_sums

__all__ = ['RankingPositives', 'check_group', 'communicated_bytes', 'raise_together']


def check_group(name: str, group) -> Tuple[int, int]:
    """(rank in group, group size), or a ValueError naming ``group``."""
    if not (dist.is_available() and dist.is_initialized()):
        raise ValueError(f'{name}: group={group!r} needs torch.distributed to be initialised '
                         '(torch.distributed.init_process_group); pass group=None to rank this '
                         "process's entries alone")
    try:
        return dist.get_rank(group), dist.get_world_size(group)
    except (RuntimeError, ValueError) as error:
        raise ValueError(f'{name}: group={group!r} is not a process group this process belongs to: '
                         f'{error}') from error


def raise_together(name: str, error: Optional[ValueError], group, device) -> None:
    """One all-reduce of an error flag: every process of ``group`` raises when any got invalid
    input (that one with its own error), so that none is left waiting in a later collective."""
    flag = torch.tensor([error is not None], dtype=torch.int64, device=device)
    dist.all_reduce(flag, group=group)
    _raise(name, error, int(flag.item()))


def _raise(name: str, error: Optional[ValueError], processes_with_errors: int) -> None:
    if error is not None:
        raise error
    if processes_with_errors > 0:
        raise ValueError(f'{name}: {processes_with_errors} other process(es) of the group got invalid '
                         'input (their own errors name it); this process stops too, so that none '
                         'waits in a collective')


def communicated_bytes(positive_counts) -> int:
    """Bytes one process puts into the collectives of one ranking over a group whose processes
    hold ``positive_counts`` positives: its counts, its padded positive scores and the summed
    false-positive sums (the three collectives of this module)."""
    return 2 * 8 + 8 * max(positive_counts) + 8 * (sum(positive_counts) + 2)


class RankingPositives:
    """The positives of one ranking, with their false-positive sums: this process's entries
    (``group=None``) or those of every process of ``group``.

    After construction every process of the group holds the same ``sorted_scores`` (m,) and
    ``false_positives`` (m,) (float64, on the scores' device), with ``count_negatives`` also
    ``negative_count`` (the number of negatives of the whole ranking), and ``local_positions``: where each of its own positives
    (``local_index``, ascending flat index) stands among the m sorted ones.

    Args:
        name (str): The calling loss, for error messages.
        scores (Tensor): This process's logits (detached inside), any shape.
        targets (Tensor): Integer targets of the same shape, 1 / 0 / -1.
        delta (float): The step function's half-width.
        group: None, or a process group, e.g. ``torch.distributed.group.WORLD``.
        count_negatives (bool): Also count the negatives of the whole ranking (an extra pass over
            the targets; AUC-Loss needs it, AP-Loss does not).
        values (callable, optional): ``values(local_index)``, the value of each of this process's
            positives given their flat indices (ascending), (m_local,): each travels with its score
            (Rank & Sort's IoU targets, aLRP's localisation errors), giving ``sorted_values`` (m,) float64 in the
            order of ``sorted_scores``. A ValueError it raises is this process's invalid input.
    """

    def __init__(self, name: str, scores: torch.Tensor, targets: torch.Tensor, delta: float, group=None,
                 count_negatives: bool = False, values: Optional[Callable[[torch.Tensor], torch.Tensor]] = None):
        self.rank, self.world_size = check_group(name, group) if group is not None else (0, 1)
        self.name = name
        flat_scores = scores.detach().reshape(-1)
        flat_targets = targets.reshape(-1)
        device = scores.device

        self.local_index = torch.nonzero(flat_targets == 1).squeeze(1)
        local = flat_scores[self.local_index].to(torch.float64)
        error = self._nonfinite_positive(local, flat_scores)
        if values is not None:
            try:
                local_values = values(self.local_index).detach().reshape(-1).to(torch.float64)
            except ValueError as caught:
                # Reported as an invalid score is: raised here, or on every process of the group.
                error = error or caught
                local_values = torch.zeros_like(local)
            local = torch.stack([local, local_values])
        if group is None:
            _raise(name, error, 0)
            counts, concatenated = [local.shape[-1]], local
        else:
            counts, concatenated = self._gather(local, error, group)
        self.positive_counts = counts
        if values is not None:
            concatenated, concatenated_values = concatenated
        self.sorted_scores, order = torch.sort(concatenated, stable=True)
        self.sorted_values = concatenated_values[order] if values is not None else None
        position = torch.empty_like(order)
        position[order] = torch.arange(order.numel(), device=device)
        offset = sum(counts[:self.rank])
        self.local_positions = position[offset:offset + counts[self.rank]]

        try:
            local_sums = false_positive_sums(scores, targets, self.sorted_scores, delta)
            error = None
        except ValueError as caught:
            local_sums = torch.zeros_like(self.sorted_scores)
            # The kernel names itself; the user called `name`.
            error = ValueError(re.sub(r'^\w+: ', f'{name}: ', str(caught)))
        negatives = (flat_targets == 0).sum().to(torch.float64) if count_negatives else local_sums.new_zeros(())
        summed = torch.cat([local_sums, torch.stack([negatives, local_sums.new_tensor(error is not None)])])
        if group is not None:
            dist.all_reduce(summed, group=group)
        _raise(name, error, int(summed[-1].item()))
        self.false_positives = summed[:-2]
        self.negative_count = int(summed[-2].item()) if count_negatives else None

    def _gather(self, local: torch.Tensor, error: Optional[ValueError], group):
        """Every process's positive count and scores (with their values: rows of ``local``), in
        process order (two all-gathers)."""
        if error is not None:
            local = torch.zeros_like(local)  # keeps the others' passes valid while all raise
        count = local.shape[-1]
        header = torch.tensor([count, error is not None], dtype=torch.int64, device=local.device)
        headers = [torch.empty_like(header) for _ in range(self.world_size)]
        dist.all_gather(headers, header, group=group)
        headers = torch.stack(headers).cpu()
        _raise(self.name, error, int(headers[:, 1].sum()))
        counts = headers[:, 0].tolist()
        padded = local.new_zeros(local.shape[:-1] + (max(counts),))
        padded[..., :count] = local
        gathered = [torch.empty_like(padded) for _ in range(self.world_size)]
        dist.all_gather(gathered, padded, group=group)
        return counts, torch.cat([part[..., :count] for part, count in zip(gathered, counts)], dim=-1)

    def _nonfinite_positive(self, local: torch.Tensor, flat_scores: torch.Tensor) -> Optional[ValueError]:
        bad = ~torch.isfinite(local)
        if not bad.any():
            return None
        index = int(self.local_index[bad.nonzero()[0, 0]])
        return ValueError(f'{self.name}: scores must be finite, got {flat_scores[index].item()} at flat '
                          f'index {index}')
