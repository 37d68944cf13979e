"""Pure-PyTorch loss functions, one module per loss family; no mmdet import."""
from .ap_loss import ap_loss, ap_loss_reference

__all__ = ['ap_loss', 'ap_loss_reference']
