"""mmdet modules, registered in ``mmdet.registry.MODELS`` on import."""
from .heads import (APLossRetinaHead, APLossSSDHead, ConfigurableSSDHead, HarmonicRetinaHead,
                    HarmonicSSDHead, RankSortATSSHead)
from .losses import AnchorLoss, APLoss, AUCLoss, HarmonicIoULoss, RankSortLoss, TwoWayLoss, UniLoss

__all__ = ['AnchorLoss', 'APLoss', 'APLossRetinaHead', 'AUCLoss', 'APLossSSDHead', 'ConfigurableSSDHead',
           'HarmonicIoULoss', 'HarmonicRetinaHead', 'HarmonicSSDHead', 'RankSortATSSHead', 'RankSortLoss',
           'TwoWayLoss', 'UniLoss']
