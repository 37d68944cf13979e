"""Run by torchrun in tests/distributed/test_ap_loss_group.py: every process takes its slice of each
case's entries, computes ap_loss over the group and saves its loss and gradient (or the error it
raised) to OUT/rank<r>.pt. Rank 0 also saves the single-process result on the concatenation."""
import sys

import torch
import torch.distributed as dist

from mmdet_losses.functional import ap_loss


def case(name, world_size):
    """(scores, targets, slice boundaries, ap_loss kwargs) of the whole minibatch."""
    generator = torch.Generator().manual_seed(sum(map(ord, name)) + world_size)
    n = 3000
    scores = torch.randn(n, generator=generator, dtype=torch.float64) * 2
    targets = torch.zeros(n, dtype=torch.int64)
    u = torch.rand(n, generator=generator)
    targets[u < 0.03] = 1
    targets[(u >= 0.03) & (u < 0.06)] = -1
    # Uneven slices: process r holds a share that grows with r.
    shares = torch.arange(1, world_size + 1, dtype=torch.float64)
    bounds = [0] + (torch.cumsum(shares, 0) / shares.sum() * n).round().long().tolist()
    kwargs = {}
    if name == 'ties':
        # A coarse grid: positives and negatives tie within and across processes.
        scores = torch.randint(-8, 9, (n,), generator=generator).double() * 0.25
    elif name == 'ties_not_interpolated':
        scores = torch.randint(-8, 9, (n,), generator=generator).double() * 0.25
        kwargs = dict(interpolated=False, delta=0.5)
    elif name == 'process_without_positives':
        targets[bounds[0]:bounds[1]][targets[bounds[0]:bounds[1]] == 1] = 0
    elif name == 'empty_process':
        bounds[1] = 0
    elif name == 'no_positive_anywhere':
        targets[targets == 1] = 0
    elif name == 'nan_score_on_last':
        scores[bounds[-2] + 5] = float('nan')
    elif name == 'bad_target_on_first':
        targets[3] = 2
    elif name == 'inf_positive_on_last':
        last_positive = int(torch.nonzero(targets[bounds[-2]:] == 1)[0]) + bounds[-2]
        scores[last_positive] = float('inf')
    return scores, targets, bounds, kwargs


CASES = ['random', 'ties', 'ties_not_interpolated', 'process_without_positives', 'empty_process',
         'no_positive_anywhere', 'nan_score_on_last', 'bad_target_on_first', 'inf_positive_on_last']


def main(out):
    dist.init_process_group('gloo')
    rank, world_size = dist.get_rank(), dist.get_world_size()
    results = {}
    for name in CASES:
        scores, targets, bounds, kwargs = case(name, world_size)
        local = scores[bounds[rank]:bounds[rank + 1]].clone().requires_grad_()
        try:
            loss = ap_loss(local, targets[bounds[rank]:bounds[rank + 1]],
                           group=dist.group.WORLD, **kwargs)
            loss.backward()
            results[name] = dict(loss=loss.detach(), grad=local.grad, bounds=bounds)
        except ValueError as error:
            results[name] = dict(error=str(error))
        if rank == 0 and 'error' not in results[name]:
            whole = scores.clone().requires_grad_()
            loss = ap_loss(whole, targets, **kwargs)
            loss.backward()
            results[name].update(single_loss=loss.detach(), single_grad=whole.grad)
    torch.save(results, f'{out}/rank{rank}.pt')
    dist.destroy_process_group()


if __name__ == '__main__':
    main(sys.argv[1])
