import torch
import torch.distributed as dist
from torch import nn

from ...ops import load_extension
from .contract import check_classification_call, check_reduction


class WholeRankingLoss(nn.Module):
    """Base of the classification losses that score one ranking of every (anchor, class) entry of
    a call as a whole (AP-Loss, AUC-Loss, the Two-way loss, UniLoss): sigmoid scores, targets from
    mmdet's labels by ``ranking_targets``, one value per call. ``ranking='global'`` lets a subclass
    that can rank across processes do so (``group()`` gives the process group). Subclasses
    implement ``loss(cls_score, targets)``; those that rank with the compiled ops set
    ``uses_ranking_ops``, so that a missing build stops the config's model from being built, with
    the fix, rather than its first training step.
    """
    uses_ranking_ops = False

    def __init__(self, use_sigmoid: bool = True, loss_weight: float = 1.0, ranking: str = 'local'):
        super().__init__()
        if self.uses_ranking_ops:
            load_extension()
        if not use_sigmoid:
            raise ValueError(f'{type(self).__name__}: use_sigmoid must be True (one score per class, '
                             f'no background channel), got {use_sigmoid!r}')
        if ranking not in ('global', 'local'):
            raise ValueError(f"{type(self).__name__}: ranking must be 'global' or 'local', got {ranking!r}")
        self.use_sigmoid = use_sigmoid
        self.loss_weight = loss_weight
        self.ranking = ranking

    def group(self):
        """The process group to rank across: the default group when ``ranking='global'`` and this
        process is one of several, else None (this process's entries alone)."""
        if (self.ranking == 'global' and dist.is_available() and dist.is_initialized()
                and dist.get_world_size() > 1):
            return dist.group.WORLD
        return None

    def forward(self, cls_score: torch.Tensor, labels: torch.Tensor,
                label_weights: torch.Tensor = None, avg_factor=None,
                reduction_override: str = None) -> torch.Tensor:
        """
        Args:
            cls_score (Tensor): (n, C) logits.
            labels (Tensor): (n,) class indices in [0, C]; C is background.
            label_weights (Tensor, optional): (n,) or (n, C); entries with weight 0 are ignored.
                There are no per-entry weights: any non-zero weight counts the entry fully.
            avg_factor: Accepted for mmdet's loss call and not used: the loss normalises itself
                (refused with reduction 'sum', as mmdet does).
            reduction_override (str, optional): None, 'mean' or 'sum' (the same single value);
                'none' is refused, as the loss has no per-entry value.
        """
        return self.loss_weight * self.loss(
            cls_score, self.checked_targets(cls_score, labels, label_weights, avg_factor, reduction_override))

    def checked_targets(self, cls_score: torch.Tensor, labels: torch.Tensor, label_weights: torch.Tensor = None,
                        avg_factor=None, reduction_override: str = None) -> torch.Tensor:
        """The call's arguments checked (as ``forward`` documents them) and its ranking targets
        (``ranking_targets``)."""
        name = type(self).__name__
        if reduction_override == 'none':
            raise ValueError(f"{name}: reduction_override='none' is not defined for a ranking loss "
                             '(it has one value for the whole ranking)')
        check_reduction(name, reduction_override or 'mean', avg_factor)
        check_classification_call(name, cls_score, labels, label_weights)
        return ranking_targets(cls_score, labels, label_weights)

    def loss(self, cls_score: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def ranking_targets(cls_score: torch.Tensor, labels: torch.Tensor,
                    label_weights: torch.Tensor = None) -> torch.Tensor:
    """AP-Loss targets (n, C) of int8 from mmdet's labels: 1 at a positive anchor's class, 0 at its
    other classes and everywhere for background (label C), -1 where the label weight is 0.
    The arguments are those of a loss call that ``check_classification_call`` accepted."""
    n, num_classes = cls_score.shape
    targets = torch.zeros((n, num_classes), dtype=torch.int8, device=cls_score.device)
    foreground = labels < num_classes
    targets[foreground, labels[foreground]] = 1
    if label_weights is not None:
        if label_weights.dim() == 1:
            label_weights = label_weights[:, None]
        targets.masked_fill_(label_weights == 0, -1)
    return targets
