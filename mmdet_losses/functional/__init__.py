"""Pure-PyTorch loss functions, one module per loss family; no mmdet import."""
from .ap_loss import ap_loss, ap_loss_reference
from .harmonic import aligned_iou, harmonic_loss, harmonic_terms, hiou_loss

__all__ = ['ap_loss', 'ap_loss_reference', 'aligned_iou', 'harmonic_loss', 'harmonic_terms',
           'hiou_loss']
