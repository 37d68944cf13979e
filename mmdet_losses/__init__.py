"""Detection losses for MMDetection 3.x: AP-Loss and AUC-Loss (with an exact O(|N| log |P|) ranking
op on CPU and CUDA), the Rank & Sort loss, Harmonic and Harmonic IoU losses, Anchor Loss, the
Two-way multi-label loss and UniLoss.

``mmdet_losses.functional`` needs only torch; its ranking losses need the compiled ops as well,
loaded when first used (``mmdet_losses.ops``). When mmdet is installed, importing this package also
imports ``mmdet_losses.models``, what ``custom_imports=dict(imports=['mmdet_losses'])`` in a config
relies on: it registers the mmdet modules (``APLoss``, the heads, ...) in ``mmdet.registry.MODELS``
and lets torch's safe loader read mmengine's checkpoints (``models/checkpoints.py``).
"""
from importlib.util import find_spec

from . import functional
from .version import __version__

if find_spec('mmdet') is not None:
    from . import engine, models  # noqa: F401  (registers the modules and hooks)

__all__ = ['functional', '__version__']
