"""Lets torch's safe checkpoint loader (``torch.load``'s default ``weights_only=True`` since torch
2.6) read the checkpoints that mmengine 0.10.7 writes, so that mmdet's and mim's own train
``--resume`` and test scripts work with a config whose ``custom_imports`` load this package. It is
an effect of importing the mmdet side (``mmdet_losses.models``) because those scripts reach this
package only through that import; ``mmdet_losses.functional`` and ``mmdet_losses.ops`` never do it."""
import importlib

import torch

__all__ = ['allow_mmengine_checkpoints', 'mmengine_checkpoint_globals']


def allow_mmengine_checkpoints() -> None:
    """Lets ``torch.load``'s default ``weights_only=True`` read the checkpoints mmengine writes.

    mmengine 0.10.7 calls ``torch.load`` without ``weights_only``, and its checkpoints hold, besides
    tensors, the message hub's ``HistoryBuffer`` objects and numpy arrays and scalars (resuming
    needs them). This allows exactly the globals such a checkpoint names, rather than turning the
    safe loader off. ``builtins.getattr`` is among them because a ``HistoryBuffer`` pickles its
    statistic methods as ``getattr(HistoryBuffer, 'min')``; the weights-only loader still refuses
    to call anything that is not allowed.
    """
    torch.serialization.add_safe_globals(mmengine_checkpoint_globals())


def mmengine_checkpoint_globals() -> list:
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer

    # numpy 2 moved numpy.core to numpy._core; checkpoints name whichever wrote them.
    multiarray = importlib.import_module(
        'numpy._core.multiarray' if hasattr(np, '_core') else 'numpy.core.multiarray')
    # numpy >= 1.25 builds each dtype from its own class (numpy.dtypes.Float64DType, ...).
    dtype_classes = [getattr(np.dtypes, name) for name in getattr(getattr(np, 'dtypes', None), '__all__', [])]
    return [np.ndarray, np.dtype, *dtype_classes, multiarray._reconstruct, multiarray.scalar,
            HistoryBuffer, getattr]
