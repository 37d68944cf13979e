"""mmdet modules, registered in ``mmdet.registry.MODELS`` on import."""
from .heads import (APLossRetinaHead, APLossSSDHead, ConfigurableSSDHead, HarmonicRetinaHead,
                    HarmonicSSDHead)
from .losses import APLoss, HarmonicIoULoss

__all__ = ['APLoss', 'APLossRetinaHead', 'APLossSSDHead', 'ConfigurableSSDHead', 'HarmonicIoULoss',
           'HarmonicRetinaHead', 'HarmonicSSDHead']
