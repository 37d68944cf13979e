"""The ranking op itself: registration (opcheck), and the CUDA kernel against the CPU kernel."""
import pytest
import torch

from mmdet_losses.ops import cuda_kernel_compiled

ap_rank = torch.ops.mmdet_losses.ap_rank


def problem(n, m, seed=0, dtype=torch.float32, clustered=False):
    generator = torch.Generator().manual_seed(seed)
    scores = torch.randn(n, generator=generator, dtype=torch.float64)
    if clustered:
        # Early in training every score sits near the prior: all windows overlap.
        scores = -4.6 + 0.01 * scores
    targets = torch.zeros(n, dtype=torch.int8)
    targets[torch.randperm(n, generator=generator)[:m]] = 1
    targets[torch.randperm(n, generator=generator)[: n // 50]] = -1
    return scores.to(dtype), targets


@pytest.mark.parametrize('interpolated', [True, False])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_opcheck_cpu(interpolated, dtype):
    scores, targets = problem(500, 20, dtype=dtype)
    samples = [
        (scores.requires_grad_(), targets, 1.0, interpolated),
        (scores.detach().view(20, 25).t(), targets.view(20, 25).t(), 0.5, interpolated),
        (torch.randn(30, dtype=dtype), torch.zeros(30, dtype=torch.int64), 1.0, interpolated),
    ]
    for args in samples:
        torch.library.opcheck(ap_rank.default, args)


def test_loss_is_not_differentiable_through_the_gradient_output():
    scores, targets = problem(100, 5)
    loss, grad = ap_rank(scores.requires_grad_(), targets, 1.0, True)
    assert loss.requires_grad and not grad.requires_grad


@pytest.mark.cuda
def test_cuda_kernel_is_compiled_on_a_machine_with_a_gpu():
    # A build without nvcc has no CUDA kernel, and every CUDA input would then fail.
    assert cuda_kernel_compiled()


def cuda_vs_cpu(scores, targets, delta=1.0, interpolated=True):
    cpu_loss, cpu_grad = ap_rank(scores, targets, delta, interpolated)
    gpu_loss, gpu_grad = ap_rank(scores.cuda(), targets.cuda(), delta, interpolated)
    # Both accumulate in float64; the GPU adds in a different order.
    torch.testing.assert_close(gpu_loss.cpu(), cpu_loss, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(gpu_grad.cpu(), cpu_grad, rtol=1e-5,
                               atol=1e-6 * cpu_grad.abs().max().item())


@pytest.mark.cuda
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize('interpolated', [True, False])
def test_cuda_matches_cpu(dtype, interpolated):
    scores, targets = problem(200_000, 500, seed=1, dtype=dtype)
    cuda_vs_cpu(scores, targets, 1.0, interpolated)


@pytest.mark.cuda
@pytest.mark.parametrize('delta', [0.1, 1.0, 4.0])
def test_cuda_matches_cpu_with_ties_and_clusters(delta):
    scores, targets = problem(100_000, 300, seed=2, clustered=True)
    cuda_vs_cpu(scores, targets, delta)
    grid = (torch.randint(-8, 9, (50_000,), generator=torch.Generator().manual_seed(3)) * 0.25).float()
    cuda_vs_cpu(grid, problem(50_000, 400, seed=3)[1], delta)


@pytest.mark.cuda
def test_cuda_many_positives_uses_global_slots():
    # Enough positives that the slots no longer fit in shared memory.
    scores, targets = problem(400_000, 20_000, seed=4)
    cuda_vs_cpu(scores, targets)


@pytest.mark.cuda
def test_cuda_edge_cases_and_errors():
    for targets in (torch.zeros(1000, dtype=torch.int8), torch.zeros(0, dtype=torch.int8)):
        loss, grad = ap_rank(torch.randn(targets.shape, device='cuda'), targets.cuda(), 1.0, True)
        assert loss.item() == 0.0 and torch.count_nonzero(grad) == 0
    scores, targets = problem(1000, 1, seed=5)
    cuda_vs_cpu(scores, targets)
    cuda_vs_cpu(scores.view(10, 100).t(), targets.view(10, 100).t())
    with pytest.raises(ValueError, match='got 3 at flat index 7'):
        bad = torch.zeros(10, dtype=torch.int64, device='cuda')
        bad[7] = 3
        ap_rank(torch.zeros(10, device='cuda'), bad, 1.0, True)
    with pytest.raises(ValueError, match='scores must be finite, got nan at flat index 4'):
        nan = torch.zeros(10, device='cuda')
        nan[4] = float('nan')
        ap_rank(nan, torch.ones(10, dtype=torch.int8, device='cuda'), 1.0, True)


@pytest.mark.cuda
def test_opcheck_cuda():
    scores, targets = problem(5000, 50)
    torch.library.opcheck(ap_rank.default, (scores.cuda().requires_grad_(), targets.cuda(), 1.0, True))
