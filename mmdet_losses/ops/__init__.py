"""The AP-Loss ranking ops, one schema each, C++ CPU kernels (portable, and an AVX2 one chosen at
run time: ``avx2_kernel_enabled``) and a CUDA kernel (csrc/), with fake kernels and autograd
registered in Python. Importing this package registers all of them:

- ``torch.ops.mmdet_losses.ap_rank(scores, targets, delta, interpolated) -> (loss, grad)``: the whole
  AP-Loss of one ranking (ap_rank.py);
- ``false_positive_sums`` and ``negative_weight_sums``: its two passes over the negatives, for
  rankings whose positives come from elsewhere (ranking_passes.py).
"""
from .ap_rank import avx2_kernel_enabled, cuda_kernel_compiled
from .ranking_passes import false_positive_sums, negative_weight_sums

__all__ = ['avx2_kernel_enabled', 'cuda_kernel_compiled', 'false_positive_sums', 'negative_weight_sums']
