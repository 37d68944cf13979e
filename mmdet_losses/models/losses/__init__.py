from .ap_loss import APLoss
from .harmonic_iou_loss import HarmonicIoULoss

__all__ = ['APLoss', 'HarmonicIoULoss']
