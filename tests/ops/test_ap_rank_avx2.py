"""The CPU ops' AVX2 kernel (fp32 scores; int8, int32, int64 targets) against their portable kernel
and the per-positive loop, on the layouts that stress its edge search and its chunking: ap_rank and
its two public passes."""
import platform

import pytest
import torch

from mmdet_losses.functional import ap_loss_reference
from mmdet_losses.ops import avx2_kernel_enabled

ap_rank = torch.ops.mmdet_losses.ap_rank


def cpu_has_avx2():
    if platform.system() != 'Linux' or platform.machine() != 'x86_64':
        return False
    with open('/proc/cpuinfo') as cpuinfo:
        flags = next((line.split() for line in cpuinfo if line.startswith('flags')), [])
    return 'avx2' in flags and 'fma' in flags


needs_avx2 = pytest.mark.skipif(not cpu_has_avx2(), reason='needs an x86-64 CPU with AVX2 and FMA (Linux)')


def use(kernel, monkeypatch):
    monkeypatch.setenv('MMDET_LOSSES_CPU_SIMD', '1' if kernel == 'avx2' else '0')
    assert avx2_kernel_enabled() == (kernel == 'avx2')


def run(kernel, monkeypatch, scores, targets, delta=1.0, interpolated=True):
    use(kernel, monkeypatch)
    return ap_rank(scores, targets, delta, interpolated)


def passes(kernel, monkeypatch, scores, targets, sorted_positives, weights, delta):
    use(kernel, monkeypatch)
    return (torch.ops.mmdet_losses.false_positive_sums(scores, targets, sorted_positives, delta),
            torch.ops.mmdet_losses.negative_weight_sums(scores, targets, sorted_positives, weights, delta))


def layout(name, n=5000, m=100, seed=0):
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(n, generator=generator, dtype=torch.float64)
    targets = torch.zeros(n, dtype=torch.int8)
    order = torch.randperm(n, generator=generator)
    positives, ignored = order[:m], order[m:m + n // 20]
    targets[positives] = 1
    targets[ignored] = -1
    if name == 'normal':
        scores = noise
    elif name == 'start':
        scores = -4.6 + 0.1 * noise
    elif name == 'trained':
        scores = torch.where(targets == 1, 0.5 + 1.5 * noise, -7.0 + 2.0 * noise)
    elif name == 'grid_ties':
        # Scores on a grid of 1/4 with delta 1: window edges land exactly on scores.
        scores = torch.round(4 * noise) / 4
    elif name == 'all_tied':
        scores = noise.clone()
        scores[positives] = 0.5
    elif name == 'crowd_and_outlier':
        scores = noise.clone()
        scores[positives] = 0.3 + 1e-3 * torch.rand(m, generator=generator, dtype=torch.float64)
        scores[positives[0]] = 50.0
    elif name == 'tiny_span':
        scores = noise.clone()
        scores[positives] = 1.0 + 1e-6 * torch.arange(m, dtype=torch.float64)
    elif name == 'large_offset':
        scores = 1e4 + noise
    elif name == 'fp32_extremes':
        scores = torch.tanh(noise) * 3e38
    else:
        raise ValueError(name)
    return scores.float(), targets


LAYOUTS = ['normal', 'start', 'trained', 'grid_ties', 'all_tied', 'crowd_and_outlier', 'tiny_span',
           'large_offset', 'fp32_extremes']


def assert_close(actual, expected):
    (loss, grad), (ref_loss, ref_grad) = actual, expected
    torch.testing.assert_close(loss, ref_loss, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-5, atol=1e-6 * ref_grad.abs().max().item())


@needs_avx2
def test_the_kernel_follows_the_cpu_and_the_environment(monkeypatch):
    monkeypatch.delenv('MMDET_LOSSES_CPU_SIMD', raising=False)
    assert avx2_kernel_enabled()
    monkeypatch.setenv('MMDET_LOSSES_CPU_SIMD', '0')
    assert not avx2_kernel_enabled()


@needs_avx2
@pytest.mark.parametrize('name', LAYOUTS)
@pytest.mark.parametrize('delta', [0.25, 1.0, 4.0])
@pytest.mark.parametrize('interpolated', [True, False])
def test_matches_the_portable_kernel(monkeypatch, name, delta, interpolated):
    scores, targets = layout(name)
    assert_close(run('avx2', monkeypatch, scores, targets, delta, interpolated),
                 run('portable', monkeypatch, scores, targets, delta, interpolated))


@needs_avx2
@pytest.mark.parametrize('name', ['normal', 'grid_ties', 'all_tied', 'tiny_span'])
def test_matches_the_per_positive_loop(monkeypatch, name):
    scores, targets = layout(name, n=3000, m=60)
    leaf = scores.double().requires_grad_()
    ref_loss = ap_loss_reference(leaf, targets)
    ref_loss.backward()
    loss, grad = run('avx2', monkeypatch, scores, targets)
    assert_close((loss, grad), (ref_loss.detach().float(), leaf.grad.float()))


@needs_avx2
@pytest.mark.parametrize('target_dtype', [torch.int8, torch.int32, torch.int64])
@pytest.mark.parametrize('n', [1, 7, 8, 9, 4095, 4097, 2 ** 17 + 3])
def test_sizes_around_vectors_blocks_and_chunks(monkeypatch, target_dtype, n):
    # 8 entries per vector, 4096 per block, and above 2^17 two chunks on two threads.
    scores, targets = layout('trained', n=n, m=max(1, n // 50), seed=n)
    targets = targets.to(target_dtype)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert_close(run('avx2', monkeypatch, scores, targets), run('portable', monkeypatch, scores, targets))
    finally:
        torch.set_num_threads(threads)


@needs_avx2
@pytest.mark.parametrize('name', ['normal', 'grid_ties'])
def test_many_positives_crowd_the_grid_cells(monkeypatch, name):
    # A third of 300,000 entries are positives: 200,000 window edges share 2^20 grid cells.
    scores, targets = layout(name, n=300_000, m=100_000)
    assert_close(run('avx2', monkeypatch, scores, targets), run('portable', monkeypatch, scores, targets))


@needs_avx2
def test_window_edges_beyond_fp32_take_the_portable_kernel(monkeypatch):
    # p + delta overflows fp32: the AVX2 kernel declines and the portable one ranks exactly.
    scores, targets = layout('normal', n=500, m=20)
    leaf = scores.double().requires_grad_()
    ref_loss = ap_loss_reference(leaf, targets, delta=1e39)
    ref_loss.backward()
    assert_close(run('avx2', monkeypatch, scores, targets, delta=1e39),
                 (ref_loss.detach().float(), leaf.grad.float()))


@needs_avx2
@pytest.mark.parametrize('bad', [float('nan'), float('inf'), -float('inf')])
def test_the_first_non_finite_score_is_reported(monkeypatch, bad):
    scores, targets = layout('normal', n=2 ** 18, m=100)
    scores[2 ** 17 + 5] = bad  # in the second chunk
    scores[70_001] = bad       # the first, in the first chunk
    targets[70_001] = 0
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        for kernel in ('avx2', 'portable'):
            with pytest.raises(ValueError, match=f'scores must be finite, got {bad} at flat index 70001'):
                run(kernel, monkeypatch, scores, targets)
    finally:
        torch.set_num_threads(threads)


@needs_avx2
@pytest.mark.parametrize('name', LAYOUTS)
@pytest.mark.parametrize('delta', [0.25, 1.0])
def test_public_passes_match_the_portable_kernel(monkeypatch, name, delta):
    # Positives from elsewhere (as under DDP): float64 values that are not all fp32 numbers.
    scores, targets = layout(name, n=20_000, m=200)
    generator = torch.Generator().manual_seed(3)
    sorted_positives = (scores[targets == 1].double()
                        + 1e-9 * torch.randn(200, generator=generator, dtype=torch.float64)).sort().values
    weights = torch.rand(200, generator=generator, dtype=torch.float64)
    (fp, sums), (ref_fp, ref_sums) = (
        passes(kernel, monkeypatch, scores, targets, sorted_positives, weights, delta)
        for kernel in ('avx2', 'portable'))
    torch.testing.assert_close(fp, ref_fp, rtol=1e-9, atol=1e-9 * ref_fp.abs().max().item())
    torch.testing.assert_close(sums, ref_sums, rtol=1e-5, atol=1e-6 * ref_sums.abs().max().item())
    assert torch.count_nonzero(sums[targets != 0]) == 0


@needs_avx2
def test_public_passes_check_every_target_and_score(monkeypatch):
    scores, targets = layout('normal', n=10_000, m=50)
    sorted_positives = scores[targets == 1].double().sort().values
    weights = torch.ones(50, dtype=torch.float64)
    bad_targets = targets.clone()
    bad_targets[7_777] = 3
    bad_scores = scores.clone()
    bad_scores[5_555] = float('nan')
    for kernel in ('avx2', 'portable'):
        with pytest.raises(ValueError, match='got 3 at flat index 7777'):
            passes(kernel, monkeypatch, scores, bad_targets, sorted_positives, weights, 1.0)
        with pytest.raises(ValueError, match='scores must be finite, got nan at flat index 5555'):
            passes(kernel, monkeypatch, bad_scores, targets, sorted_positives, weights, 1.0)
