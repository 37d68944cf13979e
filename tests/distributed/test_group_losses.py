"""The losses that take a process group (ap_loss, auc_loss, two_way_loss, rank_sort_loss, alrp_loss): W spawned gloo processes against
one process on the concatenation of their entries (AP-Loss paper: one ranking of the whole
minibatch)."""
import re

import pytest
import torch

ERROR_CASES = {
    ('ap_loss', 'nan_score_on_last'): 'scores must be finite, got nan at flat index 5',
    ('ap_loss', 'bad_target_on_first'):
        r'targets must be 1 \(positive\), 0 \(negative\) or -1 \(ignored\), got 2 at flat index 3',
    ('ap_loss', 'inf_positive_on_last'): 'scores must be finite, got inf',
    ('auc_loss', 'nan_score_on_last'): 'scores must be finite, got nan at flat index 5',
    ('auc_loss', 'bad_target_on_first'):
        r'targets must be 1 \(positive\), 0 \(negative\) or -1 \(ignored\), got 2 at flat index 3',
    ('auc_loss', 'inf_positive_on_last'): 'scores must be finite, got inf',
    ('two_way_loss', 'nan_score_on_last'): 'logits must be finite, got nan at flat index 5',
    ('two_way_loss', 'bad_target_on_first'): r'targets must be in \(-1, 0, 1\).*got 2 at flat index 3',
    ('two_way_loss', 'inf_positive_on_last'): 'logits must be finite, got inf',
    ('rank_sort_loss', 'nan_score_on_last'): 'scores must be finite, got nan at flat index 5',
    ('rank_sort_loss', 'bad_target_on_first'):
        r'targets must be in \(0, 1\] \(a positive and its IoU\), 0 \(negative\) or -1 \(ignored\), got 2.0 at '
        'flat index 3',
    ('rank_sort_loss', 'inf_positive_on_last'): 'scores must be finite, got inf',
    ('alrp_loss', 'nan_score_on_last'): 'scores must be finite, got nan at flat index 5',
    ('alrp_loss', 'bad_target_on_first'):
        r'targets must be 1 \(positive\), 0 \(negative\) or -1 \(ignored\), got 2 at flat index 3',
    ('alrp_loss', 'inf_positive_on_last'): 'scores must be finite, got inf',
    ('alrp_loss', 'nan_box_error_on_last'): 'box_errors must be finite, got nan at index 0',
    ('alrp_loss', 'short_box_errors_on_last'): r'box_errors must have one value per positive, shape \(\d+,\), got',
}


@pytest.mark.slow
@pytest.mark.parametrize('processes', [2, 3])
def test_group_ranking_equals_one_process_on_the_concatenation(torchrun, here, processes):
    results = torchrun(here / 'group_losses_worker.py', processes)
    for name, single in results[0].items():
        if name in ERROR_CASES:
            check_raised_everywhere(results, name, processes)
            continue
        loss_name, case = name
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
        if case == 'no_positive_anywhere':
            assert (single['single_loss'] == 0).all() and torch.count_nonzero(joined) == 0
        else:
            assert (single['single_loss'] > 0).all() and torch.count_nonzero(joined) > 0


def check_raised_everywhere(results, name, processes):
    """Invalid input on one process raises there with its own message and on every other process
    with a pointer to it; no process is left waiting."""
    loss_name, case = name
    owner = 0 if case == 'bad_target_on_first' else processes - 1
    for rank, result in enumerate(results):
        assert 'error' in result[name], (name, rank)
        if rank == owner:
            assert re.search(f'^{loss_name}: {ERROR_CASES[name]}', result[name]['error']), result[name]['error']
        else:
            assert 'other process(es) of the group got invalid input' in result[name]['error']


def test_group_needs_an_initialised_process_group():
    from mmdet_losses.functional import ap_loss, two_way_loss
    for fn in (ap_loss, two_way_loss):
        with pytest.raises(ValueError, match='group=.* needs torch.distributed to be initialised'):
            fn(torch.zeros(1, 3), torch.tensor([[1, 0, 0]]), group=object())
