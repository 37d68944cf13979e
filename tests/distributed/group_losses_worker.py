"""Run by torchrun in tests/distributed/test_group_losses.py: for each loss that takes a process group
and each case, every process takes its rows of the case's (rows, classes) scores, computes the loss
over the group and saves its loss and gradient (or the error it raised) to OUT/rank<r>.pt. Rank 0
also saves the single-process result on the whole matrix."""
import sys

import torch
import torch.distributed as dist

from mmdet_losses.functional import alrp_loss, ap_loss, auc_loss, rank_sort_loss, two_way_loss


def rank_sort_values(scores, targets, **kwargs):
    """Rank & Sort's (ranking, sorting) as one tensor."""
    return torch.stack(rank_sort_loss(scores, targets, **kwargs))


def alrp_values(scores, targets, box_error_fault=None, **kwargs):
    """aLRP's (classification, localisation) as one tensor, each positive's localisation error a
    function of its score (so that its gradient joins the scores'); ``box_error_fault`` 'nan' makes
    the first error NaN, 'short' drops the last one."""
    errors = torch.sigmoid(scores[targets == 1].nan_to_num(0.0)) * 1.5
    if box_error_fault == 'nan':
        errors = torch.cat([errors[:1] * float('nan'), errors[1:]])
    elif box_error_fault == 'short':
        errors = errors[:-1]
    return torch.stack(alrp_loss(scores, targets, errors, **kwargs))


LOSSES = {'ap_loss': ap_loss, 'auc_loss': auc_loss, 'two_way_loss': two_way_loss,
          'rank_sort_loss': rank_sort_values, 'alrp_loss': alrp_values}


def case(name, world_size):
    """(scores, targets, row boundaries, ap_loss kwargs, Rank & Sort targets) of the whole
    minibatch: n x 5 entries."""
    generator = torch.Generator().manual_seed(sum(map(ord, name)) + world_size)
    n = 600
    scores = torch.randn(n, 5, generator=generator, dtype=torch.float64) * 2
    targets = torch.zeros(n, 5, dtype=torch.int64)
    u = torch.rand(n, 5, generator=generator)
    targets[u < 0.03] = 1
    targets[(u >= 0.03) & (u < 0.06)] = -1
    # Uneven slices: process r holds a share that grows with r.
    shares = torch.arange(1, world_size + 1, dtype=torch.float64)
    bounds = [0] + (torch.cumsum(shares, 0) / shares.sum() * n).round().long().tolist()
    kwargs = {}
    if name == 'ties':
        # A coarse grid: positives and negatives tie within and across processes.
        scores = torch.randint(-8, 9, (n, 5), generator=generator).double() * 0.25
    elif name == 'ties_not_interpolated':
        scores = torch.randint(-8, 9, (n, 5), generator=generator).double() * 0.25
        kwargs = dict(interpolated=False, delta=0.5)
    elif name == 'process_without_positives':
        targets[bounds[0]:bounds[1]][targets[bounds[0]:bounds[1]] == 1] = 0
    elif name == 'empty_process':
        bounds[1] = 0
    elif name == 'no_positive_anywhere':
        targets[targets == 1] = 0
    elif name == 'nan_score_on_last':
        scores[bounds[-2] + 1, 0] = float('nan')
    elif name == 'bad_target_on_first':
        targets[0, 3] = 2
    elif name == 'inf_positive_on_last':
        row, column = torch.nonzero(targets[bounds[-2]:] == 1)[0].tolist()
        scores[bounds[-2] + row, column] = float('inf')
    # Rank & Sort: each positive's sorting target (an IoU), on a coarse grid where scores tie.
    quality = torch.rand(n, 5, generator=generator, dtype=torch.float64) * 0.95 + 0.05
    if name.startswith('ties'):
        quality = (quality * 4).ceil() / 4
    return scores, targets, bounds, kwargs, torch.where(targets == 1, quality, targets.double())


CASES = ['random', 'ties', 'ties_not_interpolated', 'process_without_positives', 'empty_process',
         'no_positive_anywhere', 'nan_score_on_last', 'bad_target_on_first', 'inf_positive_on_last']
# aLRP only: the last process's box_errors are bad (the other losses take no box errors).
BOX_ERROR_FAULTS = {'nan_box_error_on_last': 'nan', 'short_box_errors_on_last': 'short'}


def main(out):
    dist.init_process_group('gloo')
    rank, world_size = dist.get_rank(), dist.get_world_size()
    results = {}
    for loss_name, fn in LOSSES.items():
        for name in CASES + (list(BOX_ERROR_FAULTS) if loss_name == 'alrp_loss' else []):
            scores, targets, bounds, kwargs, rank_sort_targets = case(name, world_size)
            if loss_name == 'rank_sort_loss':
                targets = rank_sort_targets
            if loss_name != 'ap_loss':
                kwargs = {key: value for key, value in kwargs.items()
                          if key == 'delta' and loss_name in ('auc_loss', 'rank_sort_loss', 'alrp_loss')}
            local = scores[bounds[rank]:bounds[rank + 1]].clone().requires_grad_()
            key = (loss_name, name)
            fault = (dict(box_error_fault=BOX_ERROR_FAULTS[name])
                     if name in BOX_ERROR_FAULTS and rank == world_size - 1 else {})
            try:
                loss = fn(local, targets[bounds[rank]:bounds[rank + 1]], group=dist.group.WORLD, **kwargs, **fault)
                loss.sum().backward()
                results[key] = dict(loss=loss.detach(), grad=local.grad)
            except ValueError as error:
                results[key] = dict(error=str(error))
            if rank == 0 and 'error' not in results[key]:
                whole = scores.clone().requires_grad_()
                loss = fn(whole, targets, **kwargs)
                loss.sum().backward()
                results[key].update(single_loss=loss.detach(), single_grad=whole.grad)
    torch.save(results, f'{out}/rank{rank}.pt')
    dist.destroy_process_group()


if __name__ == '__main__':
    main(sys.argv[1])
