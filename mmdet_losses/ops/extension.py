"""The compiled library ``mmdet_losses._C`` (the ranking ops' kernels), loaded when a ranking op
is first needed, as torchvision's ``extension.py`` does: a missing or broken build (no compiler,
a wheel built for another torch) then stops only the ranking losses, with a message that names
the fix, while the pure-PyTorch losses keep working."""
import functools
import importlib

__all__ = ['load_extension', 'cuda_kernel_compiled', 'avx2_kernel_enabled']

BUILD_HINT = ('Build it against the installed torch: `pip install --no-build-isolation -e .` in the '
              'repository (or `make install`).')


@functools.cache
def load_extension():
    """``mmdet_losses._C``, its ops registered in ``torch.ops.mmdet_losses`` together with their
    fake kernels and autograd formula. Raises ImportError, naming the fix, when it cannot load."""
    try:
        library = importlib.import_module('mmdet_losses._C')
    except ImportError as error:
        raise ImportError(f'mmdet_losses._C, the compiled ranking ops that AP-Loss, AUC-Loss and the '
                          f'Rank & Sort loss need, is missing or broken. {BUILD_HINT} Cause: {error}') from error
    from . import registration  # noqa: F401  (needs the ops that loading the library defined)
    return library


def cuda_kernel_compiled() -> bool:
    """Whether this build contains the CUDA kernel (it needs nvcc at build time)."""
    return bool(load_extension().with_cuda)


def avx2_kernel_enabled() -> bool:
    """Whether the ranking ops on the CPU (``ap_rank``, ``rank_sort`` and the passes) now run their
    AVX2 kernel for fp32 scores with int8, int32 or int64 targets (``rank_sort``: floating targets):
    the CPU has AVX2 and FMA, and the environment variable ``MMDET_LOSSES_CPU_SIMD`` is not ``0``
    (set it to ``0`` to force the portable kernel, which every other input takes). The two agree up
    to float64 rounding."""
    return load_extension().avx2_kernel_enabled()
