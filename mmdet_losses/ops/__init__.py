"""The AP-Loss ranking op, ``torch.ops.mmdet_losses.ap_rank``: one schema, a C++ CPU kernel and a
CUDA kernel (csrc/), with its fake kernel and autograd formula registered in ap_rank.py."""
from .ap_rank import ap_rank, cuda_kernel_compiled

__all__ = ['ap_rank', 'cuda_kernel_compiled']
