"""mmdet modules, registered in ``mmdet.registry.MODELS`` on import."""
from .heads import (APLossRetinaHead, APLossSSDHead, ConfigurableSSDHead, HarmonicRetinaHead,
                    HarmonicSSDHead)
from .losses import AnchorLoss, APLoss, AUCLoss, HarmonicIoULoss, TwoWayLoss, UniLoss

__all__ = ['AnchorLoss', 'APLoss', 'APLossRetinaHead', 'AUCLoss', 'APLossSSDHead', 'ConfigurableSSDHead',
           'HarmonicIoULoss', 'HarmonicRetinaHead', 'HarmonicSSDHead', 'TwoWayLoss', 'UniLoss']
