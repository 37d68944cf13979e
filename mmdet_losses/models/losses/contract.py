"""mmdet's loss call, ``loss(pred, target, weight, avg_factor=None, reduction_override=None)``,
checked the same way for every loss of the package: wrong shapes, dtypes, labels outside [0, C],
non-finite predictions and unknown reductions are a ValueError naming the loss, the argument and
the value; an empty input is an exact 0."""
import torch
from mmdet.models.losses.utils import weight_reduce_loss

from ...functional.checks import check_finite, check_floating

REDUCTIONS = ('none', 'mean', 'sum')


def check_reduction(name: str, reduction, avg_factor) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'none', 'mean' or 'sum' (reduction_override may "
                         f'also be None), got {reduction!r}')
    if avg_factor is not None and reduction == 'sum':
        # mmdet's rule (weight_reduce_loss): an average factor means an average.
        raise ValueError(f"{name}: avg_factor={avg_factor!r} cannot be used with reduction='sum'")


def check_classification_call(name: str, cls_score: torch.Tensor, labels: torch.Tensor,
                              weight: torch.Tensor = None, weight_name: str = 'label_weights') -> None:
    """cls_score (n, C) finite floats; labels (n,) integers in [0, C] (C is background); weight
    None, (n,) or (n, C)."""
    check_floating(name, 'cls_score', cls_score)
    if cls_score.dim() != 2:
        raise ValueError(f'{name}: cls_score must have shape (n, C), got {tuple(cls_score.shape)}')
    n, num_classes = cls_score.shape
    if not isinstance(labels, torch.Tensor) or labels.shape != (n,):
        got = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise ValueError(f'{name}: labels must have shape ({n},) to match cls_score {tuple(cls_score.shape)}, '
                         f'got {got}')
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise ValueError(f'{name}: labels must be an integer tensor, got {labels.dtype}')
    outside = (labels < 0) | (labels > num_classes)
    if outside.any():
        index = int(outside.nonzero()[0])
        raise ValueError(f'{name}: labels must be in [0, {num_classes}] ({num_classes} is background), got '
                         f'{labels[index].item()} at index {index}')
    if weight is not None and weight.shape not in ((n,), (n, num_classes)):
        raise ValueError(f'{name}: {weight_name} must have shape ({n},) or ({n}, {num_classes}), got '
                         f'{tuple(weight.shape)}')
    check_finite(name, 'cls_score', cls_score)


def reduce_loss(loss: torch.Tensor, weight, reduction: str, avg_factor) -> torch.Tensor:
    """mmdet's ``weight_reduce_loss``, except that an empty loss reduces to an exact 0 (its mean
    of nothing is NaN)."""
    if loss.numel() == 0 and reduction != 'none':
        return loss.sum()
    return weight_reduce_loss(loss, weight, reduction, avg_factor)
