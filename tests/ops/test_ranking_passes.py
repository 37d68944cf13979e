"""The op's two passes as public ops: against sums written out pair by pair, registration
(opcheck), errors, and CUDA against CPU."""
import pytest
import torch

from mmdet_losses.ops import false_positive_sums, negative_weight_sums, rank_sort_negatives


def step(x, delta):
    return torch.clamp(x / (2 * delta) + 0.5, 0, 1)


def problem(n=2000, m=40, seed=0, grid=None):
    """Scores with negatives, positives and ignored entries, and m sorted positive scores that
    come from elsewhere (some equal to scores here, some not)."""
    generator = torch.Generator().manual_seed(seed)
    scores = torch.randn(n, generator=generator, dtype=torch.float64) * 2
    if grid is not None:
        scores = (scores / grid).round() * grid
    targets = torch.randint(-1, 2, (n,), generator=generator)
    own = scores[targets == 1][: m // 2]
    other = torch.randn(m - own.numel(), generator=generator, dtype=torch.float64) * 2
    if grid is not None:
        other = (other / grid).round() * grid
    p = torch.sort(torch.cat([own, other])).values
    w = torch.rand(m, generator=generator, dtype=torch.float64)
    return scores, targets, p, w


@pytest.mark.parametrize('delta', [0.25, 1.0, 3.0])
@pytest.mark.parametrize('grid', [None, 0.25])
def test_passes_equal_pairwise_sums(delta, grid):
    scores, targets, p, w = problem(grid=grid, seed=int(delta * 4))
    pairwise = step(scores[targets == 0][None, :] - p[:, None], delta)  # (m, negatives)
    torch.testing.assert_close(false_positive_sums(scores, targets, p, delta), pairwise.sum(1),
                               rtol=1e-12, atol=1e-12)
    expected = torch.zeros_like(scores)
    expected[targets == 0] = (w[:, None] * pairwise).sum(0)
    torch.testing.assert_close(negative_weight_sums(scores, targets, p, w, delta), expected,
                               rtol=1e-12, atol=1e-12)


def test_passes_take_any_shape_dtype_and_layout():
    scores, targets, p, w = problem(n=1200)
    expected_fp = false_positive_sums(scores, targets, p)
    expected_g = negative_weight_sums(scores, targets, p, w)
    view = scores.view(30, 40).t()
    assert not view.is_contiguous()
    torch.testing.assert_close(false_positive_sums(view, targets.view(30, 40).t(), p), expected_fp,
                               rtol=1e-12, atol=0)
    torch.testing.assert_close(negative_weight_sums(view, targets.view(30, 40).t().to(torch.int8), p, w),
                               expected_g.view(30, 40).t(), rtol=1e-12, atol=0)
    low = negative_weight_sums(scores.float(), targets, p, w)
    assert low.dtype == torch.float32
    torch.testing.assert_close(low, negative_weight_sums(scores.float().double(), targets, p, w).float())


def test_no_positive_and_no_entry():
    scores, targets, _, _ = problem(n=100)
    empty = torch.zeros(0, dtype=torch.float64)
    assert false_positive_sums(scores, targets, empty).shape == (0,)
    assert torch.count_nonzero(negative_weight_sums(scores, targets, empty, empty)) == 0
    p = torch.tensor([0.0], dtype=torch.float64)
    assert false_positive_sums(torch.zeros(0), torch.zeros(0, dtype=torch.int8), p).tolist() == [0.0]
    assert negative_weight_sums(torch.zeros(0), torch.zeros(0, dtype=torch.int8), p, p).shape == (0,)


def test_bad_inputs_raise_clear_errors():
    scores, targets, p, w = problem(n=50, m=4)
    with pytest.raises(ValueError, match='sorted_positives must be sorted ascending'):
        false_positive_sums(scores, targets, p.flip(0))
    with pytest.raises(ValueError, match='sorted_positives must be finite, got nan at index 0'):
        false_positive_sums(scores, targets, torch.tensor([float('nan')], dtype=torch.float64))
    with pytest.raises(ValueError, match='sorted_positives must be a 1-D float64 tensor, got Float'):
        false_positive_sums(scores, targets, p.float())
    with pytest.raises(ValueError, match=r'weights must have one value per positive \(4\), got 3'):
        negative_weight_sums(scores, targets, p, w[:3])
    with pytest.raises(ValueError, match='weights must be finite, got inf at index 1'):
        negative_weight_sums(scores, targets, p, torch.tensor([0.0, float('inf'), 0, 0], dtype=torch.float64))
    bad = targets.clone()
    bad[7] = 5
    for call in (lambda t: false_positive_sums(scores, t, p), lambda t: negative_weight_sums(scores, t, p, w)):
        with pytest.raises(ValueError, match='got 5 at flat index 7'):
            call(bad)
    nan = scores.clone()
    nan[9] = float('nan')
    for call in (lambda s: false_positive_sums(s, targets, p), lambda s: negative_weight_sums(s, targets, p, w)):
        with pytest.raises(ValueError, match='scores must be finite, got nan at flat index 9'):
            call(nan)
    with pytest.raises(ValueError, match='delta must be a finite number > 0, got 0'):
        false_positive_sums(scores, targets, p, delta=0.0)


def test_opcheck_cpu():
    scores, targets, p, w = problem(n=600, m=12)
    for args in [(scores, targets, p, 1.0), (scores.float().view(20, 30), targets.view(20, 30), p, 0.5)]:
        torch.library.opcheck(torch.ops.mmdet_losses.false_positive_sums.default, args)
        torch.library.opcheck(torch.ops.mmdet_losses.negative_weight_sums.default, args[:3] + (w,) + args[3:])


@pytest.mark.cuda
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_cuda_matches_cpu(dtype):
    scores, targets, p, w = problem(n=300_000, m=600, seed=3)
    scores = scores.to(dtype)
    torch.testing.assert_close(false_positive_sums(scores.cuda(), targets.cuda(), p.cuda()).cpu(),
                               false_positive_sums(scores, targets, p), rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(negative_weight_sums(scores.cuda(), targets.cuda(), p.cuda(), w.cuda()).cpu(),
                               negative_weight_sums(scores, targets, p, w), rtol=1e-5, atol=1e-6)


@pytest.mark.cuda
def test_cuda_many_positives_clustered_and_errors():
    scores, targets, p, w = problem(n=200_000, m=20_000, seed=4)
    clustered = -4.6 + 0.01 * scores
    for s in (scores, clustered):
        torch.testing.assert_close(false_positive_sums(s.cuda(), targets.cuda(), p.cuda()).cpu(),
                                   false_positive_sums(s, targets, p), rtol=1e-9, atol=1e-6)
        torch.testing.assert_close(negative_weight_sums(s.cuda(), targets.cuda(), p.cuda(), w.cuda()).cpu(),
                                   negative_weight_sums(s, targets, p, w), rtol=1e-9, atol=1e-6)
    bad = targets.cuda()
    bad[11] = 4
    with pytest.raises(ValueError, match='got 4 at flat index 11'):
        negative_weight_sums(scores.cuda(), bad, p.cuda(), w.cuda())
    torch.library.opcheck(torch.ops.mmdet_losses.false_positive_sums.default,
                          (scores.cuda(), targets.cuda(), p.cuda(), 1.0))


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64, torch.float16])
@pytest.mark.parametrize('grid', [None, 0.25])
def test_rank_sort_negatives_gives_the_bits_of_the_two_passes(dtype, grid):
    # float32: the AVX2 kernel where the CPU has it; the others: the portable one.
    scores, targets, p, w = problem(n=20000, m=300, grid=grid, seed=7)
    scores = scores.to(dtype)
    # Three positives above every negative's reach: fp = 0, no update.
    top = float(scores.double().max()) + 2 + torch.arange(3, dtype=torch.float64)
    p = torch.sort(torch.cat([p.to(dtype).double(), top])).values
    rank_pos = torch.cat([w, w[:3]]) * 50 + 0.5
    fp, g = rank_sort_negatives(scores, targets.to(torch.int8), p, rank_pos, 1 / 300, 0.5)
    expected_fp = false_positive_sums(scores, targets, p, 0.5)
    weights = (expected_fp > 1e-10) / (rank_pos + expected_fp) * (1 / 300)
    assert torch.equal(fp, expected_fp)
    assert torch.equal(g, negative_weight_sums(scores, targets, p, weights, 0.5))
    assert (fp <= 1e-10).any() and (fp > 1e-10).any()  # both sides of the eps test


def test_rank_sort_negatives_without_positives_errors_and_opcheck():
    scores, targets, p, w = problem(n=300, m=10, seed=8)
    empty = torch.zeros(0, dtype=torch.float64)
    fp, g = rank_sort_negatives(scores, targets, empty, empty, 1.0)
    assert fp.shape == (0,) and torch.equal(g, torch.zeros_like(scores))
    bad = targets.clone()
    bad[5] = 2
    with pytest.raises(ValueError, match='ap_rank: targets must be 1 .* got 2 at flat index 5'):
        rank_sort_negatives(scores, bad, p, w, 1.0)
    with pytest.raises(ValueError, match='rank_sort_negatives: sorted_positives must be sorted ascending'):
        rank_sort_negatives(scores, targets, p.flip(0), w, 1.0)
    with pytest.raises(ValueError, match='rank_sort_negatives: scale must be finite'):
        rank_sort_negatives(scores, targets, p, w, float('inf'))
    torch.library.opcheck(torch.ops.mmdet_losses.rank_sort_negatives.default, (scores, targets, p, w, 0.1, 0.5))


@pytest.mark.cuda
def test_rank_sort_negatives_cuda_matches_cpu():
    scores, targets, p, w = problem(n=20000, m=300, seed=9)
    scores = scores.float()
    for got, expected in zip(rank_sort_negatives(scores.cuda(), targets.cuda(), p.cuda(), w.cuda(), 0.01),
                             rank_sort_negatives(scores, targets, p, w, 0.01)):
        torch.testing.assert_close(got.cpu(), expected, rtol=1e-6, atol=1e-9)
