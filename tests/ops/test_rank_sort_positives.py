"""The Rank & Sort positives' op against the torch reference ``sorting_step`` (blocks of rows, the
same arithmetic in another order): values, thread counts, the AVX2 and portable loops,
registration (opcheck), errors, CUDA."""
import pytest
import torch

from mmdet_losses.functional.rank_sort import sorting_step
from mmdet_losses.ops import rank_sort_positives


def positives(m, seed, grid=None, equal_values=False):
    generator = torch.Generator().manual_seed(seed)
    p = torch.randn(m, generator=generator, dtype=torch.float64) * 1.5
    y = torch.rand(m, generator=generator, dtype=torch.float64) * 0.95 + 0.05
    if grid is not None:
        p = (p / grid).round() * grid  # ties and window edges
        y = (y * 4).ceil() / 4  # ties among the sorting targets
    if equal_values:
        y.fill_(0.5)
    return torch.sort(p).values, y


def assert_matches_reference(p, y, delta):
    for got, expected in zip(rank_sort_positives(p, y, delta), sorting_step(p, y, delta)):
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize('delta', [0.1, 0.5, 3.0])
@pytest.mark.parametrize('grid', [None, 0.25])
@pytest.mark.parametrize('m', [1, 2, 3, 7, 64, 301])
def test_matches_the_torch_reference(m, delta, grid):
    p, y = positives(m, seed=m, grid=grid)
    assert_matches_reference(p, y, delta)


def test_equal_values_unsorted_scores_and_many_positives():
    p, y = positives(200, seed=1, equal_values=True)
    assert_matches_reference(p, y, 0.5)
    rank_pos, error, update = rank_sort_positives(p, y, 0.5)
    assert error.abs().max() < 1e-15 and update.abs().max() < 1e-15
    # Any order of the positives: each output follows its positive.
    p, y = positives(2000, seed=2)
    order = torch.randperm(2000, generator=torch.Generator().manual_seed(0))
    sorted_outputs = rank_sort_positives(p, y, 0.5)
    for got, expected in zip(rank_sort_positives(p[order], y[order], 0.5), sorted_outputs):
        torch.testing.assert_close(got, expected[order], rtol=1e-12, atol=1e-14)
    assert_matches_reference(p, y, 0.5)


def test_same_bits_on_any_thread_count():
    p, y = positives(3000, seed=3)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        single = rank_sort_positives(p, y, 0.5)
        torch.set_num_threads(max(2, threads))
        many = rank_sort_positives(p, y, 0.5)
    finally:
        torch.set_num_threads(threads)
    for a, b in zip(single, many):
        assert torch.equal(a, b)


@pytest.mark.parametrize('m', [5, 1002, 1003])
def test_avx2_and_portable_loops_give_the_same_bits(monkeypatch, m):
    p, y = positives(m, seed=m, grid=0.25 if m % 2 else None)
    monkeypatch.setenv('MMDET_LOSSES_CPU_SIMD', '0')
    portable = rank_sort_positives(p, y, 0.5)
    monkeypatch.setenv('MMDET_LOSSES_CPU_SIMD', '1')
    for a, b in zip(rank_sort_positives(p, y, 0.5), portable):
        assert torch.equal(a, b)


def test_no_positive():
    empty = torch.zeros(0, dtype=torch.float64)
    assert all(out.shape == (0,) for out in rank_sort_positives(empty, empty, 0.5))


def test_bad_inputs_raise_clear_errors():
    p, y = positives(5, seed=4)
    with pytest.raises(ValueError, match='rank_sort_positives: scores must be a 1-D float64 tensor'):
        rank_sort_positives(p.float(), y, 0.5)
    with pytest.raises(ValueError, match='rank_sort_positives: values must be a 1-D float64 tensor'):
        rank_sort_positives(p, y[None], 0.5)
    with pytest.raises(ValueError, match=r'values must have one value per score \(5\), got 4'):
        rank_sort_positives(p, y[:4], 0.5)
    with pytest.raises(ValueError, match='delta must be a finite number > 0, got 0'):
        rank_sort_positives(p, y, 0.0)


def test_opcheck_cpu():
    p, y = positives(20, seed=5, grid=0.25)
    torch.library.opcheck(torch.ops.mmdet_losses.rank_sort_positives.default, (p, y, 0.5))


@pytest.mark.cuda
@pytest.mark.parametrize('grid', [None, 0.25])
def test_cuda_gives_the_cpu_bits(grid):
    p, y = positives(1500, seed=6, grid=grid)
    for got, expected in zip(rank_sort_positives(p.cuda(), y.cuda(), 0.5), rank_sort_positives(p, y, 0.5)):
        assert torch.equal(got.cpu(), expected)
    torch.library.opcheck(torch.ops.mmdet_losses.rank_sort_positives.default, (p.cuda(), y.cuda(), 0.5))
