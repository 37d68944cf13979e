"""mmdet modules, registered in ``mmdet.registry.MODELS`` on import; importing this also lets torch's
safe loader read mmengine's checkpoints (checkpoints.py)."""
from .checkpoints import allow_mmengine_checkpoints
from .heads import (APLossRetinaHead, APLossSSDHead, ConfigurableSSDHead, HarmonicRetinaHead,
                    HarmonicSSDHead, RankSortATSSHead)
from .losses import AnchorLoss, APLoss, AUCLoss, HarmonicIoULoss, RankSortLoss, TwoWayLoss, UniLoss

allow_mmengine_checkpoints()

__all__ = ['AnchorLoss', 'APLoss', 'APLossRetinaHead', 'AUCLoss', 'APLossSSDHead', 'ConfigurableSSDHead',
           'HarmonicIoULoss', 'HarmonicRetinaHead', 'HarmonicSSDHead', 'RankSortATSSHead', 'RankSortLoss',
           'TwoWayLoss', 'UniLoss']
