"""Loads the compiled op and registers what PyTorch needs beyond its kernels: a fake (meta) kernel
for tracing and torch.compile, and the autograd formula that hands back the saved error-driven
gradient."""
import torch

try:
    from mmdet_losses import _C
except ImportError as error:  # pragma: no cover - only without a build
    raise ImportError(
        'mmdet_losses._C, the compiled ranking op, is missing or broken. Build it against the '
        'installed torch: `pip install --no-build-isolation -e .` in the repository (or `make '
        f'install`). Cause: {error}') from error

def cuda_kernel_compiled() -> bool:
    """Whether this build contains the CUDA kernel (it needs nvcc at build time)."""
    return bool(_C.with_cuda)


def avx2_kernel_enabled() -> bool:
    """Whether the ranking ops on the CPU (``ap_rank`` and its two passes) now run their AVX2 kernel
    for fp32 scores with int8, int32 or int64 targets: the CPU has AVX2 and FMA, and the
    environment variable ``MMDET_LOSSES_CPU_SIMD`` is not ``0`` (set it to ``0`` to force the
    portable kernel, which every other input takes). The two agree up to float64 rounding."""
    return _C.avx2_kernel_enabled()


@torch.library.register_fake('mmdet_losses::ap_rank')
def _ap_rank_fake(scores, targets, delta, interpolated):
    torch._check(scores.shape == targets.shape,
                 lambda: f'ap_rank: scores and targets must have the same shape, got '
                         f'{tuple(scores.shape)} and {tuple(targets.shape)}')
    return scores.new_empty(()), torch.empty_like(scores, memory_format=torch.contiguous_format)


def _setup_context(ctx, inputs, output):
    loss, grad = output
    ctx.mark_non_differentiable(grad)
    # Nothing flows back through grad: without this, autograd fills an N-sized tensor of zeros as
    # its incoming gradient on every backward.
    ctx.set_materialize_grads(False)
    ctx.save_for_backward(grad)


def _backward(ctx, grad_loss, grad_of_grad):
    # AP-Loss is trained with the paper's error-driven update, not the derivative of the step
    # function: the kernel already computed it, so backward only scales it. An incoming gradient
    # of exactly 1 (loss.backward() on the unweighted loss) needs no pass over the N entries. Only
    # an eager CPU tensor is looked at: on CUDA the check would cost a synchronisation, and a
    # traced one (torch.compile, opcheck) has no value to look at.
    (grad,) = ctx.saved_tensors
    if type(grad_loss) is torch.Tensor and grad_loss.device.type == 'cpu' and grad_loss.item() == 1.0:
        return grad, None, None, None
    return grad * grad_loss, None, None, None


torch.library.register_autograd('mmdet_losses::ap_rank', _backward, setup_context=_setup_context)
