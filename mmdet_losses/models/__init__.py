"""mmdet modules, registered in ``mmdet.registry.MODELS`` on import."""
from .heads import APLossRetinaHead
from .losses import APLoss

__all__ = ['APLoss', 'APLossRetinaHead']
