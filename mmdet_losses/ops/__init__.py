"""The AP-Loss ranking ops, one schema each, C++ CPU kernels (portable, and an AVX2 one chosen at
run time: ``avx2_kernel_enabled``) and a CUDA kernel (csrc/), with fake kernels and autograd
registered in Python (registration.py):

- ``torch.ops.mmdet_losses.ap_rank(scores, targets, delta, interpolated) -> (loss, grad)``: the whole
  AP-Loss of one ranking (ap_rank.py);
- ``false_positive_sums`` and ``negative_weight_sums``: its two passes over the negatives, for
  rankings whose positives come from elsewhere (ranking_passes.py);
- ``rank_sort(scores, targets, delta) -> (ranking loss, sorting loss, grad, positives' index,
  positives' updates)``: the whole Rank & Sort loss of one ranking (rank_sort.py);
- ``rank_sort_positives``: the positives' part of the Rank & Sort loss, and ``rank_sort_negatives``:
  its negatives' part, the two passes with the negatives searched once (ranking_passes.py), for
  rankings whose positives come from elsewhere.

The compiled library is loaded here when it can be; when it is missing, this package still imports
and the functions below raise an ImportError that names the fix when called (extension.py).
"""
from .ap_rank import ap_rank
from .extension import avx2_kernel_enabled, cuda_kernel_compiled, load_extension
from .rank_sort import rank_sort
from .ranking_passes import false_positive_sums, negative_weight_sums, rank_sort_negatives, rank_sort_positives

try:
    load_extension()  # defines torch.ops.mmdet_losses.* for callers that use them directly
except ImportError:
    pass  # reported by the first ranking op called

__all__ = ['ap_rank', 'avx2_kernel_enabled', 'cuda_kernel_compiled', 'false_positive_sums', 'load_extension',
           'negative_weight_sums', 'rank_sort', 'rank_sort_negatives', 'rank_sort_positives']
