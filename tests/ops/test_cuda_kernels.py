"""Every variant of the ranking ops' CUDA kernels against the CPU kernel (tools/check_cuda.sh also
runs this file under compute-sanitizer's memcheck, racecheck and synccheck).

The passes keep the positives' grid and their slots or prefixes in one block's shared memory when
they fit and the block has at least as many entries as it copies words, and work in global memory
otherwise: the cases cover both, with positive counts on either side of the shared-memory limit
(found from the device) on inputs large enough for shared memory (``large`` in their names: the
sanitizers' racecheck and synccheck leave them out, too slow there), and few positives on small
inputs; every dtype pair, clustered and tied scores, a non-contiguous layout, empty inputs and the
error paths too.
"""
import pytest
import torch

from mmdet_losses.ops import ap_rank, false_positive_sums, negative_weight_sums

WORD = 8  # the kernels' shared memory holds float64 and int64 words
LARGE = 20_000_000  # entries: enough for every block of a full device to take the shared variant
KINDS = ['normal', 'clustered', 'ties']
DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
TARGET_DTYPES = [torch.int8, torch.int16, torch.int32, torch.int64]


def shared_limit(device):
    """The positive count m above which the passes leave shared memory (with a window of 1): each
    holds m + 1 scores, (4m + 3) // 2 words of int32 cell starts, and m + 1 words of int counts
    plus m + 1 totals (pass 1) or 2 (m + 1) prefixes (pass 2)."""
    words = torch.cuda.get_device_properties(device).shared_memory_per_block_optin // WORD
    return (words - 4) // 5


def problem(n, m, kind='normal', seed=0):
    generator = torch.Generator().manual_seed(seed)
    scores = torch.randn(n, generator=generator, dtype=torch.float64)
    if kind == 'clustered':
        scores = -4.6 + 0.01 * scores
    elif kind == 'ties':
        scores = (scores * 4).round() / 4
    targets = torch.zeros(n, dtype=torch.int64)
    order = torch.randperm(n, generator=generator)
    targets[order[:m]] = 1
    targets[order[m:m + n // 50]] = -1
    return scores, targets


def assert_close(gpu, cpu):
    assert gpu.shape == cpu.shape
    scale = max(cpu.abs().max().item(), 1e-30) if cpu.numel() else 1.0
    torch.testing.assert_close(gpu.cpu().double(), cpu.double(), rtol=0, atol=1e-5 * scale)


def assert_cuda_matches_cpu(scores, targets, delta=1.0):
    """ap_rank (interpolated or not) and both passes, on the GPU and on the CPU."""
    cuda_scores, cuda_targets = scores.cuda(), targets.cuda()
    for interpolated in (True, False):
        for gpu, cpu in zip(ap_rank(cuda_scores, cuda_targets, delta, interpolated),
                            ap_rank(scores, targets, delta, interpolated)):
            assert_close(gpu, cpu)
    p = torch.sort(scores.reshape(-1).double()[targets.reshape(-1) == 1]).values
    w = torch.rand(p.numel(), dtype=torch.float64, generator=torch.Generator().manual_seed(p.numel()))
    assert_close(false_positive_sums(cuda_scores, cuda_targets, p.cuda(), delta),
                 false_positive_sums(scores, targets, p, delta))
    assert_close(negative_weight_sums(cuda_scores, cuda_targets, p.cuda(), w.cuda(), delta),
                 negative_weight_sums(scores, targets, p, w, delta))
    torch.cuda.synchronize()


def test_the_shared_limit_is_the_largest_count_that_fits(monkeypatch):
    words = 232448 // WORD  # an H100's opt-in shared memory per block
    monkeypatch.setattr(torch.cuda, 'get_device_properties',
                        lambda device: type('Props', (), {'shared_memory_per_block_optin': words * WORD}))
    limit = shared_limit('cuda')

    def pass_words(m):  # the grid, then 2 (m + 1) words of slots (pass 1) or prefixes (pass 2)
        return (m + 1) + (4 * m + 3) // 2 + 2 * (m + 1)
    assert pass_words(limit) <= words < pass_words(limit + 1)


@pytest.mark.cuda
@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('m', [1, 3, 30, 3000])
def test_small_inputs(m, kind):
    scores, targets = problem(50_000, m, kind, seed=m)
    assert_cuda_matches_cpu(scores.float(), targets.to(torch.int8))


@pytest.mark.cuda
@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('side', ['below', 'above'])
def test_large_inputs_around_the_shared_limit(side, kind):
    limit = shared_limit(torch.device('cuda'))
    m = limit - 12 if side == 'below' else limit + 2
    scores, targets = problem(LARGE, m, kind, seed=m)
    assert_cuda_matches_cpu(scores.float(), targets.to(torch.int8))


@pytest.mark.cuda
@pytest.mark.parametrize('target_dtype', TARGET_DTYPES)
@pytest.mark.parametrize('dtype', DTYPES)
def test_every_dtype_pair(dtype, target_dtype):
    scores, targets = problem(5000, 200, seed=1)
    assert_cuda_matches_cpu(scores.to(dtype), targets.to(target_dtype))


@pytest.mark.cuda
@pytest.mark.parametrize('delta', [0.25, 3.0])
def test_other_deltas(delta):
    scores, targets = problem(5000, 200, seed=1)
    assert_cuda_matches_cpu(scores.float(), targets, delta)


@pytest.mark.cuda
@pytest.mark.parametrize('layout', ['non-contiguous', 'no positive', 'one entry', 'empty'])
def test_layouts_and_empty_inputs(layout):
    scores, targets = problem(5000, 200, seed=1)
    scores = scores.float()
    scores, targets = {
        'non-contiguous': (scores.view(50, 100).t(), targets.view(50, 100).t()),
        'no positive': (scores, torch.zeros_like(targets)),
        'one entry': (scores[:1], torch.ones(1, dtype=torch.int64)),
        'empty': (scores[:0], targets[:0]),
    }[layout]
    assert_cuda_matches_cpu(scores, targets)


@pytest.mark.cuda
def test_errors_name_the_first_bad_entry():
    scores, targets = problem(5000, 200, seed=1)
    bad = targets.clone()
    bad[4321] = 2
    with pytest.raises(ValueError, match='flat index 4321'):
        ap_rank(scores.float().cuda(), bad.cuda())
    nan = scores.float().clone()
    nan[1234] = float('nan')
    with pytest.raises(ValueError, match='flat index 1234'):
        ap_rank(nan.cuda(), targets.cuda())
