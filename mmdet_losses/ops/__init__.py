"""The AP-Loss ranking op, ``torch.ops.mmdet_losses.ap_rank(scores, targets, delta, interpolated)
-> (loss, grad)``: one schema, a C++ CPU kernel and a CUDA kernel (csrc/), with its fake kernel and
autograd formula registered in ap_rank.py. Importing this package registers all of it."""
from .ap_rank import cuda_kernel_compiled

__all__ = ['cuda_kernel_compiled']
