"""mmdet modules, registered in ``mmdet.registry.MODELS`` on import."""
from .losses import APLoss

__all__ = ['APLoss']
