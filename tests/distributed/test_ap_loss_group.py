"""ap_loss over a process group: W spawned gloo processes against one process on the
concatenation of their entries (AP-Loss paper: one ranking of the whole minibatch)."""
import re

import pytest
import torch

ERROR_CASES = {
    'nan_score_on_last': 'scores must be finite, got nan',
    'bad_target_on_first': r'targets must be 1 \(positive\), 0 \(negative\) or -1 \(ignored\), got 2 at flat index 3',
    'inf_positive_on_last': 'scores must be finite, got inf',
}


@pytest.mark.parametrize('processes', [2, 3])
def test_group_ranking_equals_one_process_on_the_concatenation(torchrun, here, processes):
    results = torchrun(here / 'ap_loss_worker.py', processes)
    for name, single in results[0].items():
        if name in ERROR_CASES:
            check_raised_everywhere(results, name, processes)
            continue
        assert 'error' not in single, (name, single.get('error'))
        pieces = []
        for rank, result in enumerate(results):
            # Every process returns the global loss.
            torch.testing.assert_close(result[name]['loss'], single['single_loss'], rtol=1e-12, atol=1e-14,
                                       msg=f'{name}, rank {rank}')
            pieces.append(result[name]['grad'])
        joined = torch.cat(pieces)
        assert not torch.isnan(joined).any()
        # Each entry gets W times its gradient of the global loss (DDP averages over W).
        expected = processes * single['single_grad']
        torch.testing.assert_close(joined, expected, rtol=1e-12,
                                   atol=1e-12 * max(expected.abs().max().item(), 1e-300), msg=name)
        if name == 'no_positive_anywhere':
            assert single['single_loss'].item() == 0 and torch.count_nonzero(joined) == 0
        else:
            assert single['single_loss'].item() > 0 and torch.count_nonzero(joined) > 0


def check_raised_everywhere(results, name, processes):
    """Invalid input on one process raises there with its own message and on every other process
    with a pointer to it; no process is left waiting."""
    owner = 0 if name == 'bad_target_on_first' else processes - 1
    for rank, result in enumerate(results):
        assert 'error' in result[name], (name, rank)
        if rank == owner:
            assert re.search(f'^ap_loss: {ERROR_CASES[name]}', result[name]['error']), result[name]['error']
        else:
            assert 'other process(es) of the group got invalid input' in result[name]['error']


def test_group_needs_an_initialised_process_group():
    from mmdet_losses.functional import ap_loss
    with pytest.raises(ValueError, match='group=.* needs torch.distributed to be initialised'):
        ap_loss(torch.zeros(3), torch.tensor([1, 0, 0]), group=object())
