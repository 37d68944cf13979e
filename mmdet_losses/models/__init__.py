"""mmdet modules, registered in ``mmdet.registry.MODELS`` on import."""
from .heads import APLossRetinaHead, APLossSSDHead
from .losses import APLoss, HarmonicIoULoss

__all__ = ['APLoss', 'APLossRetinaHead', 'APLossSSDHead', 'HarmonicIoULoss']
