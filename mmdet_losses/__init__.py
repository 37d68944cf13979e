"""Detection losses for MMDetection 3.x: AP-Loss (with an exact O(|N| log |P|) ranking op on CPU
and CUDA), Harmonic and Harmonic IoU losses, Anchor Loss, the Two-way multi-label loss and UniLoss.

``mmdet_losses.functional`` needs only torch. When mmdet is installed, importing this package also
registers the mmdet modules (``APLoss`` and the heads) in ``mmdet.registry.MODELS``, which is what
``custom_imports=dict(imports=['mmdet_losses'])`` in a config relies on, and lets torch's safe
checkpoint loader read mmengine's checkpoints (``runtime.allow_mmengine_checkpoints``), so that
mmdet's and mim's own train ``--resume`` and test scripts work with such a config under torch >= 2.6.
"""
from importlib.util import find_spec

from . import functional
from .version import __version__

if find_spec('mmdet') is not None:
    from . import models  # noqa: F401  (registers the modules)
    from .runtime import allow_mmengine_checkpoints
    allow_mmengine_checkpoints()

__all__ = ['functional', '__version__']
