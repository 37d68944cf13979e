"""Rank & Sort loss against a per-positive loop written from the paper (Oksuz et al., ICCV 2021, eq.
7-8 and its identity update), element by element in Python floats."""
import pytest
import torch

from mmdet_losses import ops
from mmdet_losses.functional import rank_sort, rank_sort_loss, rank_sort_loss_reference


def paper_loop(scores, targets, delta):
    """(ranking loss, sorting loss, ranking update, sorting update) in Python floats, one positive
    and one pair at a time."""
    s, y = scores.detach().reshape(-1).double().tolist(), targets.reshape(-1).double().tolist()
    positives = [i for i, v in enumerate(y) if v > 0]
    negatives = [j for j, v in enumerate(y) if v == 0]
    ranking_update, sorting_update = [0.0] * len(s), [0.0] * len(s)
    if not positives:
        return 0.0, 0.0, ranking_update, sorting_update

    def h(x):
        return min(max(x / (2 * delta) + 0.5, 0.0), 1.0)

    m = len(positives)
    ranking, sorting = 0.0, 0.0
    for i in positives:
        h_pos = {k: h(s[k] - s[i]) for k in positives}
        h_neg = {j: h(s[j] - s[i]) for j in negatives}
        rank_pos, fp = sum(h_pos.values()), sum(h_neg.values())
        r = fp / (rank_pos + fp)
        above = [k for k in positives if y[k] >= y[i]]
        q = (sum(h_pos[k] * (1 - y[k]) for k in positives) / rank_pos
             - sum(h_pos[k] * (1 - y[k]) for k in above) / sum(h_pos[k] for k in above))
        ranking += r / m
        sorting += q / m
        if fp > 1e-10:
            ranking_update[i] -= r / m
            for j in negatives:
                ranking_update[j] += r * h_neg[j] / fp / m
        below = {k: h_pos[k] for k in positives if y[k] < y[i]}
        denominator = sum(below.values())
        if denominator > 1e-10:
            sorting_update[i] -= q / m
            for k, value in below.items():
                sorting_update[k] += q * value / denominator / m
    return ranking, sorting, ranking_update, sorting_update


def problem(seed, n=400, grid=None, positive_rate=0.08, equal_targets=False):
    generator = torch.Generator().manual_seed(seed)
    scores = torch.randn(n, generator=generator, dtype=torch.float64) * 1.5
    if grid is not None:
        scores = (scores / grid).round() * grid  # ties, window edges on scores
    u = torch.rand(n, generator=generator)
    targets = torch.zeros(n, dtype=torch.float64)
    positive = u < positive_rate
    targets[positive] = 0.5 if equal_targets else torch.rand(int(positive.sum()), generator=generator,
                                                             dtype=torch.float64) * 0.95 + 0.05
    if grid is not None:
        targets[positive] = (targets[positive] * 4).ceil() / 4  # ties among the sorting targets
    targets[(u >= positive_rate) & (u < positive_rate + 0.05)] = -1
    return scores, targets


def updates(fn, scores, targets, **kwargs):
    """(ranking, sorting, the ranking value's update, the sorting value's update)."""
    scores = scores.clone().requires_grad_()
    ranking, sorting = fn(scores, targets, **kwargs)
    ranking_update, = torch.autograd.grad(ranking, scores, retain_graph=True)
    sorting_update, = torch.autograd.grad(sorting, scores)
    return ranking, sorting, ranking_update, sorting_update


def assert_matches_paper(fn, scores, targets, delta=0.5, rtol=1e-10, **kwargs):
    expected = paper_loop(scores, targets, delta)
    got = updates(fn, scores, targets, delta=delta, **kwargs)
    for name, value, reference in zip(['ranking', 'sorting', 'ranking update', 'sorting update'], got, expected):
        reference = torch.tensor(reference, dtype=torch.float64, device=value.device).reshape(value.shape)
        torch.testing.assert_close(value.double(), reference, rtol=rtol, atol=rtol * 1e-2, msg=name)


@pytest.mark.parametrize('delta', [0.25, 0.5, 2.0])
@pytest.mark.parametrize('grid', [None, 0.25])
@pytest.mark.parametrize('fn', [rank_sort_loss, rank_sort_loss_reference])
def test_matches_the_paper_loop(fn, delta, grid):
    scores, targets = problem(int(delta * 4) + (grid is not None), grid=grid)
    assert_matches_paper(fn, scores, targets, delta)


@pytest.mark.parametrize('layout', ['single_positive', 'equal_targets', 'no_negative_above', 'no_negative',
                                    'all_ignored_but_positives', 'positives_tied'])
def test_awkward_layouts(layout):
    scores, targets = problem(7, n=200, equal_targets=layout == 'equal_targets')
    if layout == 'single_positive':
        targets[targets > 0] = 0
        targets[5] = 0.7
    elif layout == 'no_negative_above':
        # Every negative at least delta below the lowest positive: no ranking error, no update.
        scores[targets == 0] = scores[targets > 0].min() - 0.5 - torch.rand(int((targets == 0).sum()),
                                                                            dtype=torch.float64)
    elif layout == 'no_negative':
        targets[targets == 0] = -1
    elif layout == 'all_ignored_but_positives':
        targets[targets <= 0] = -1
    elif layout == 'positives_tied':
        scores[targets > 0] = 0.3
    assert_matches_paper(rank_sort_loss, scores, targets)
    ranking, sorting, ranking_update, sorting_update = updates(rank_sort_loss, scores, targets)
    if layout in ('no_negative_above', 'no_negative', 'all_ignored_but_positives'):
        assert ranking.item() == 0 and torch.count_nonzero(ranking_update) == 0
    if layout in ('single_positive', 'equal_targets'):
        assert sorting.item() == 0 and torch.count_nonzero(sorting_update) == 0


def test_updates_balance_and_skip_ignored_entries():
    scores, targets = problem(3)
    ranking, sorting, ranking_update, sorting_update = updates(rank_sort_loss, scores, targets)
    # The identity update moves as much score down as up (the paper's identity update).
    assert abs(ranking_update.sum().item()) < 1e-15 and abs(sorting_update.sum().item()) < 1e-15
    assert torch.count_nonzero(ranking_update[targets == -1]) == 0
    assert torch.count_nonzero(sorting_update[targets <= 0]) == 0
    assert ranking.item() > 0 and sorting.item() > 0


def test_incoming_gradients_scale_each_value_apart():
    scores, targets = problem(4)
    _, _, ranking_update, sorting_update = updates(rank_sort_loss, scores, targets)
    scores.requires_grad_()
    ranking, sorting = rank_sort_loss(scores, targets)
    (3.0 * ranking - 0.5 * sorting).backward()
    torch.testing.assert_close(scores.grad, 3.0 * ranking_update - 0.5 * sorting_update, rtol=1e-14, atol=1e-17)


def test_positives_in_blocks_give_the_same_result(monkeypatch):
    # The torch reference of the positives' op (sorting_step), a block of rows at a time, against
    # the op that the loss runs.
    scores, targets = problem(5, n=3000, positive_rate=0.2)
    positive = targets > 0
    p, order = torch.sort(scores[positive])
    y = targets[positive][order]
    whole = ops.rank_sort_positives(p, y, 0.5)
    # Blocks of 1 row and of a few rows with a ragged last block.
    for entries in (1, 7 * p.numel(), 1 << 22):
        monkeypatch.setattr(rank_sort, 'PAIRWISE_BLOCK', entries)
        for value, expected in zip(rank_sort.sorting_step(p, y, 0.5), whole):
            torch.testing.assert_close(value, expected, rtol=1e-12, atol=1e-16)


def test_official_pruning_gives_the_same_result():
    scores, targets = problem(6, n=1000)
    for value, expected in zip(updates(rank_sort_loss_reference, scores, targets, prune=True),
                               updates(rank_sort_loss_reference, scores, targets)):
        torch.testing.assert_close(value, expected, rtol=1e-12, atol=1e-16)


def test_float32_and_half_precision():
    scores, targets = problem(8, n=2000)
    expected = updates(rank_sort_loss, scores, targets)
    got = updates(rank_sort_loss, scores.float(), targets.float())
    for value, reference in zip(got, expected):
        torch.testing.assert_close(value.double(), reference, rtol=1e-5, atol=1e-8)
    for dtype in (torch.float16, torch.bfloat16):
        ranking, sorting, ranking_update, sorting_update = updates(rank_sort_loss, scores.to(dtype),
                                                                   targets.to(dtype))
        assert ranking.dtype == dtype and torch.isfinite(ranking_update).all()
        torch.testing.assert_close(ranking.double(), expected[0], rtol=0.02, atol=0.01)


def test_any_shape():
    scores, targets = problem(9, n=600)
    flat = updates(rank_sort_loss, scores, targets)
    shaped = updates(rank_sort_loss, scores.reshape(20, 30).t(), targets.reshape(20, 30).t())
    for value, expected in zip(shaped, flat):
        torch.testing.assert_close(value.t().reshape(-1) if value.dim() else value, expected, rtol=1e-13, atol=1e-17)


def test_no_positive_gives_zero():
    scores = torch.randn(50, requires_grad=True)
    ranking, sorting = rank_sort_loss(scores, torch.zeros(50))
    (ranking + sorting).backward()
    assert ranking.item() == 0 and sorting.item() == 0 and torch.count_nonzero(scores.grad) == 0


def test_bad_inputs_raise_clear_errors():
    zeros = torch.zeros(3)
    with pytest.raises(ValueError, match='rank_sort_loss: targets must be a floating-point tensor, got torch.int64'):
        rank_sort_loss(zeros, torch.tensor([1, 0, 0]))
    with pytest.raises(ValueError, match=r'same shape, got scores \(3,\) and targets \(4,\)'):
        rank_sort_loss(zeros, torch.zeros(4))
    with pytest.raises(ValueError, match='delta must be a finite number > 0, got -1'):
        rank_sort_loss(zeros, zeros, delta=-1)
    for bad, text in ((1.5, '1.5'), (-0.5, '-0.5'), (float('nan'), 'nan'), (-2.0, '-2.0')):
        with pytest.raises(ValueError, match=rf'targets must be in \(0, 1\] .* got {text} at flat index 1'):
            rank_sort_loss(zeros, torch.tensor([0.5, bad, 0.0]))
    with pytest.raises(ValueError, match='rank_sort_loss: scores must be finite, got nan at flat index 2'):
        rank_sort_loss(torch.tensor([0.0, 1.0, float('nan')]), torch.tensor([0.5, 0.0, 0.0]))
    with pytest.raises(ValueError, match='rank_sort_loss: scores must be finite, got inf at flat index 0'):
        rank_sort_loss(torch.tensor([float('inf'), 1.0, 0.0]), torch.tensor([0.5, 0.0, 0.0]))


@pytest.mark.cuda
@pytest.mark.parametrize('grid', [None, 0.25])
def test_cuda_matches_the_paper_loop(grid):
    scores, targets = problem(10, grid=grid)
    assert_matches_paper(rank_sort_loss, scores.cuda(), targets.cuda())
