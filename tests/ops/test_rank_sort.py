"""The whole Rank & Sort op (mmdet_losses::rank_sort) against the per-positive loop
rank_sort_loss_reference: floating targets of every dtype, invalid targets, ignored entries, no or
only positives, ties; thread counts, the AVX2 and portable kernels, registration (opcheck), its
autograd, CUDA against CPU."""
import re

import pytest
import torch

from mmdet_losses.functional import rank_sort_loss, rank_sort_loss_reference
from mmdet_losses.ops import avx2_kernel_enabled, rank_sort

FLOATING = [torch.float16, torch.bfloat16, torch.float32, torch.float64]


def problem(n=600, m=40, seed=0, grid=None, ignored=0.05):
    """float64 scores and targets: m positives with sorting targets in (0, 1], a share of ignored
    entries (-1), the rest negatives (0). grid: scores and sorting targets on grids (ties, window
    edges)."""
    generator = torch.Generator().manual_seed(seed)
    scores = torch.randn(n, generator=generator, dtype=torch.float64) * 1.5
    order = torch.randperm(n, generator=generator)
    targets = torch.zeros(n, dtype=torch.float64)
    targets[order[:m]] = torch.rand(m, generator=generator, dtype=torch.float64) * 0.95 + 0.05
    targets[order[m:m + int(n * ignored)]] = -1
    if grid is not None:
        scores = (scores / grid).round() * grid
        targets[order[:m]] = (targets[order[:m]] * 4).ceil() / 4
    return scores, targets


def reference(scores, targets, delta=0.5):
    """(ranking, sorting, gradient of their sum, ranking update, sorting update), float64."""
    leaf = scores.detach().double().requires_grad_()
    ranking, sorting = rank_sort_loss_reference(leaf, targets.double(), delta)
    ranking_update, = torch.autograd.grad(ranking, leaf, retain_graph=True)
    sorting_update, = torch.autograd.grad(sorting, leaf)
    return ranking, sorting, ranking_update + sorting_update, ranking_update, sorting_update


def assert_matches_reference(scores, targets, delta=0.5, rtol=1e-10):
    ranking, sorting, grad, index, updates = rank_sort(scores, targets, delta)
    expected = reference(scores, targets, delta)
    for name, value, wanted in zip(['ranking', 'sorting', 'grad'], (ranking, sorting, grad), expected):
        torch.testing.assert_close(value.double(), wanted, rtol=rtol, atol=rtol * 1e-2, msg=name)
    positive = targets > 0
    assert torch.equal(index.sort().values, positive.reshape(-1).nonzero().squeeze(1))
    for row, wanted in zip(updates, expected[3:]):
        torch.testing.assert_close(row, wanted.reshape(-1)[index], rtol=rtol, atol=rtol * 1e-2)
    return ranking, sorting, grad, index, updates


@pytest.mark.parametrize('target_dtype', FLOATING)
@pytest.mark.parametrize('score_dtype', [torch.float32, torch.float64])
def test_floating_targets_of_every_dtype(score_dtype, target_dtype):
    scores, targets = problem(seed=1)
    targets = targets.to(target_dtype)  # the reference gets the same rounded values
    rtol = 1e-10 if score_dtype == torch.float64 else 1e-5
    assert_matches_reference(scores.to(score_dtype), targets, rtol=rtol)


@pytest.mark.parametrize('score_dtype', [torch.float16, torch.bfloat16])
def test_half_precision_scores(score_dtype):
    scores, targets = problem(seed=2)
    scores = scores.to(score_dtype)
    ranking, sorting, grad, _, _ = rank_sort(scores, targets.float(), 0.5)
    expected = reference(scores, targets)
    assert ranking.dtype == sorting.dtype == grad.dtype == score_dtype
    torch.testing.assert_close(grad.double(), expected[2], rtol=0.01, atol=1e-4)


@pytest.mark.parametrize('delta', [0.1, 0.5, 2.0])
@pytest.mark.parametrize('grid', [None, 0.25])
def test_ties_and_window_edges(delta, grid):
    scores, targets = problem(seed=3, grid=grid)
    assert_matches_reference(scores, targets, delta)
    # Every positive tied.
    scores[targets > 0] = 0.25
    assert_matches_reference(scores, targets, delta)


def test_ignored_entries_get_nothing():
    scores, targets = problem(seed=4, ignored=0.3)
    _, _, grad, _, _ = assert_matches_reference(scores, targets)
    assert torch.count_nonzero(grad[targets == -1]) == 0


def test_no_positive():
    scores, targets = problem(seed=5, m=0)
    ranking, sorting, grad, index, updates = rank_sort(scores.float(), targets.float(), 0.5)
    assert ranking.item() == 0 and sorting.item() == 0 and torch.count_nonzero(grad) == 0
    assert index.shape == (0,) and updates.shape == (2, 0) and updates.dtype == torch.float64
    scores[7] = float('inf')
    with pytest.raises(ValueError, match='scores must be finite, got inf at flat index 7'):
        rank_sort(scores, targets, 0.5)


def test_all_positives():
    scores, _ = problem(seed=6, n=300)
    targets = torch.rand(300, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 0.9 + 0.1
    ranking, _, _, _, updates = assert_matches_reference(scores, targets)
    assert ranking.item() == 0 and torch.count_nonzero(updates[0]) == 0


@pytest.mark.parametrize('target_dtype', FLOATING)
@pytest.mark.parametrize('bad', [float('nan'), 2.0, -0.5, -1e-05, -3e+20])
@pytest.mark.parametrize('where', ['first', 'middle', 'last'])
def test_invalid_targets_name_their_index_and_value(target_dtype, bad, where):
    scores, targets = problem(n=301, seed=7)
    index = {'first': 0, 'middle': 150, 'last': 300}[where]
    targets = targets.to(target_dtype)
    targets[index] = bad
    # As Python writes the value that the tensor holds.
    text = re.escape(repr(targets[index].item()))
    with pytest.raises(ValueError, match=rf'^rank_sort: targets must be in \(0, 1\] \(a positive and its IoU\), '
                                         rf'0 \(negative\) or -1 \(ignored\), got {text} at flat index {index}$'):
        rank_sort(scores.float(), targets, 0.5)
    with pytest.raises(ValueError, match=rf'^rank_sort_loss: targets must be in \(0, 1\] .* got {text} at flat '
                                         rf'index {index}$'):
        rank_sort_loss(scores.float(), targets)


def test_a_non_finite_positive_score_reports_the_first_non_finite_score():
    scores, targets = problem(seed=8)
    positive = int((targets > 0).nonzero()[5])
    scores[positive] = float('nan')
    scores[positive - 1] = float('inf')
    with pytest.raises(ValueError, match=f'scores must be finite, got inf at flat index {positive - 1}'):
        rank_sort(scores, targets, 0.5)
    with pytest.raises(ValueError, match=f'^rank_sort_loss: scores must be finite, got inf at flat index '
                                         f'{positive - 1}'):
        rank_sort_loss(scores, targets)


def test_bad_arguments():
    scores, targets = problem(n=10, m=3, seed=9)
    with pytest.raises(ValueError, match=r'rank_sort: scores and targets must have the same shape'):
        rank_sort(scores, targets[:9], 0.5)
    with pytest.raises(ValueError, match='rank_sort: targets must be a floating-point tensor'):
        rank_sort(scores, targets.long(), 0.5)
    with pytest.raises(ValueError, match='rank_sort: scores must be a floating-point tensor'):
        rank_sort(scores.long(), targets, 0.5)
    with pytest.raises(ValueError, match='rank_sort: delta must be a finite number > 0, got 0'):
        rank_sort(scores, targets, 0.0)


def test_same_bits_on_any_thread_count():
    scores, targets = problem(n=300_000, m=3000, seed=10)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        single = rank_sort(scores.float(), targets.float(), 0.5)
        torch.set_num_threads(max(2, threads))
        many = rank_sort(scores.float(), targets.float(), 0.5)
    finally:
        torch.set_num_threads(threads)
    for a, b in zip(single, many):
        assert torch.equal(a, b)


@pytest.mark.skipif(not avx2_kernel_enabled(), reason='needs a CPU with AVX2 and FMA')
@pytest.mark.parametrize('grid', [None, 0.25])
@pytest.mark.parametrize('target_dtype', FLOATING)
@pytest.mark.parametrize('n', [9, 4097, 2 ** 17 + 3])
def test_avx2_and_portable_kernels_agree(monkeypatch, grid, target_dtype, n):
    # Not the same arithmetic: the AVX2 kernel finds windows among window edges rounded to fp32
    # (ap_rank_cpu_avx2.cpp), so the sums agree to float64 rounding, the fp32 outputs to fp32's.
    scores, targets = problem(n=n, m=max(1, n // 50), seed=n, grid=grid)
    scores, targets = scores.float(), targets.to(target_dtype)
    monkeypatch.setenv('MMDET_LOSSES_CPU_SIMD', '0')
    portable = rank_sort(scores, targets, 0.5)
    monkeypatch.setenv('MMDET_LOSSES_CPU_SIMD', '1')
    avx2 = rank_sort(scores, targets, 0.5)
    assert torch.equal(avx2[3], portable[3])
    for value, expected in zip(avx2[:3], portable[:3]):
        torch.testing.assert_close(value, expected, rtol=1e-6, atol=1e-6 * expected.abs().max().item())
    torch.testing.assert_close(avx2[4], portable[4], rtol=1e-12, atol=1e-15)


def test_backward_weighs_each_loss_apart():
    scores, targets = problem(seed=11)
    _, _, grad, ranking_update, sorting_update = reference(scores, targets)
    leaf = scores.clone().requires_grad_()
    ranking, sorting, *_ = rank_sort(leaf, targets, 0.5)
    assert ranking.requires_grad and sorting.requires_grad
    for weights, expected in (((1.0, 1.0), grad), ((3.0, -0.5), 3.0 * ranking_update - 0.5 * sorting_update)):
        got, = torch.autograd.grad(weights[0] * ranking + weights[1] * sorting, leaf, retain_graph=True)
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-14)
    got, = torch.autograd.grad(sorting, leaf)  # the ranking output unused
    torch.testing.assert_close(got, sorting_update, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_opcheck_cpu(dtype):
    scores, targets = problem(n=200, m=15, seed=12, grid=0.25)
    samples = [
        (scores.to(dtype).requires_grad_(), targets.to(dtype), 0.5),
        (scores.to(dtype).view(10, 20).t(), targets.float().view(10, 20).t(), 1.0),
        (torch.randn(30, dtype=dtype), torch.zeros(30, dtype=dtype), 0.5),
    ]
    for args in samples:
        torch.library.opcheck(torch.ops.mmdet_losses.rank_sort.default, args)


@pytest.mark.cuda
@pytest.mark.parametrize('grid', [None, 0.25])
@pytest.mark.parametrize('target_dtype', FLOATING)
def test_cuda_matches_cpu(grid, target_dtype):
    scores, targets = problem(n=20_000, m=300, seed=13, grid=grid)
    scores, targets = scores.float(), targets.to(target_dtype)
    cpu = rank_sort(scores, targets, 0.5)
    cuda = rank_sort(scores.cuda(), targets.cuda(), 0.5)
    assert torch.equal(cuda[3].cpu(), cpu[3])
    for value, expected in zip(cuda[:3], cpu[:3]):
        torch.testing.assert_close(value.cpu(), expected, rtol=1e-6, atol=1e-6 * expected.abs().max().item())
    torch.testing.assert_close(cuda[4].cpu(), cpu[4], rtol=1e-12, atol=1e-15)
    bad = targets.clone()
    bad[1234] = 1.5
    with pytest.raises(ValueError, match='rank_sort: targets must be in .* got 1.5 at flat index 1234'):
        rank_sort(scores.cuda(), bad.cuda(), 0.5)
    torch.library.opcheck(torch.ops.mmdet_losses.rank_sort.default,
                          (scores.cuda().requires_grad_(), targets.cuda(), 0.5))
