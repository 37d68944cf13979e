from contextlib import contextmanager
from typing import List, Optional, Tuple, Union

import torch
import torch.distributed as dist
from mmdet.models.losses import accuracy
from torch import nn

from ...ops import load_extension
from .contract import check_classification_call, check_reduction

Target = Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]


class SigmoidRoIScores:
    """What mmdet's RoI heads (``BBoxHead``) ask of a loss whose ``custom_cls_channels``,
    ``custom_activation`` and ``custom_accuracy`` are set: C per-class sigmoid scores without a
    background channel."""

    def get_cls_channels(self, num_classes: int) -> int:
        """One channel per class: no background channel."""
        return num_classes

    def get_activation(self, cls_score: torch.Tensor) -> torch.Tensor:
        """(n, C + 1): the C sigmoid scores and a background column of 0, which mmdet's
        ``multiclass_nms`` and Cascade's ``refine_bboxes`` drop as the last column: every one of
        the C classes stays predictable."""
        scores = cls_score.sigmoid()
        return torch.cat([scores, scores.new_zeros((scores.size(0), 1))], dim=1)

    def get_accuracy(self, cls_score: torch.Tensor, labels: torch.Tensor) -> dict:
        """``acc``: the accuracy of the top class over the foreground RoIs (there is no background
        score to classify the others by)."""
        foreground = labels < cls_score.size(1)
        if not foreground.any():
            return dict(acc=cls_score.new_tensor(100.0))
        return dict(acc=accuracy(cls_score[foreground], labels[foreground]))


class RankingLoss(SigmoidRoIScores, nn.Module):
    """Base of the classification losses that have one value for one ranking of every (anchor,
    class) entry a training step sees (AP-Loss, AUC-Loss, Rank & Sort, the Two-way loss, UniLoss).

    "One ranking" is this package's single idea for them, in three places:

    - here, one value for all the entries it is given (no per-entry loss: ``reduction='none'`` is
      refused);
    - in a head: mmdet's heads call ``loss_cls`` once per FPN level (or per image); when the loss
      is a head's ``loss_cls``, the head's calls of one step are gathered into one ranking
      (:mod:`mmdet_losses.models.ranking_heads`), so the stock heads need no subclass;
    - across processes: ``ranking='global'`` ranks the entries of every process of a distributed
      run as one, exactly as one process would rank the whole minibatch; ``'local'`` ranks each
      process's entries apart.

    Targets, as mmdet's heads pass them: ``labels`` (n,) in [0, C] (C is background);
    ``(labels, quality)`` (GFL, TOOD, RTMDet; ``quality`` (n,) in [0, 1] read at the positives);
    or a dense (n, C) float target in [0, 1] (VFNet, YOLOX), whose non-zero entries are the
    positives and their quality. An entry is a positive at its anchor's class, a negative
    elsewhere, ignored where the weight is 0. Only ``RankSortLoss`` reads the quality (it sorts
    the positives by it); the others rank by the labels alone.

    mmdet's RoI heads (``BBoxHead``) ask their loss for ``custom_cls_channels``,
    ``custom_activation`` and ``custom_accuracy``: in an RoI head this loss answers them, so the
    head predicts C per-class sigmoid scores without a background channel (see
    ``get_activation``).

    Subclasses implement ``loss(cls_score, targets)``; those that rank with the compiled ops set
    ``uses_ranking_ops``, so that a missing build stops the config's model from being built, with
    the fix, rather than its first training step. ``quality_targets`` subclasses get float targets
    with each positive's quality instead of 1.
    """
    uses_ranking_ops = False
    quality_targets = False

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
        # Set by the owning head (ranking_heads.py): TOOD passes probabilities; RoI heads read the
        # custom_* hooks.
        self.takes_probabilities = False
        self.owning_head = None  # id() of the head that adopted this loss
        self.head_classes = None  # and its num_classes: what every call must score
        self.custom_cls_channels = self.custom_activation = self.custom_accuracy = False
        self._gathered: Optional[List[Tuple[torch.Tensor, torch.Tensor]]] = None

    def group(self):
        """The process group to rank across (see :func:`ranking_group`)."""
        return ranking_group(self.ranking)

    def forward(self, cls_score: torch.Tensor, target: Target, weight: torch.Tensor = None, avg_factor=None,
                reduction_override: str = None) -> torch.Tensor:
        """The loss of one ranking of the entries of this call, times ``loss_weight``; while a head
        gathers its calls (``gathering``), a 0 that the step's one ranking replaces.

        Args:
            cls_score (Tensor): (n, C) logits (probabilities where the head passes them: TOOD).
            target: ``labels`` (n,), ``(labels, quality)`` or a dense (n, C) target, as the class
                documents.
            weight (Tensor, optional): (n,) or (n, C) label weights; entries with weight 0 are
                ignored. There are no per-entry weights: any non-zero weight counts the entry fully.
            avg_factor: Accepted for mmdet's loss call and not used: the loss normalises itself
                (refused with reduction 'sum', as mmdet does).
            reduction_override (str, optional): None, 'mean' or 'sum' (the same single value);
                'none' is refused, as the loss has no per-entry value.
        """
        scores, targets = self.ranking_inputs(cls_score, target, weight, avg_factor, reduction_override)
        if self._gathered is not None:
            self._gathered.append((scores, targets))
            return cls_score.new_zeros(())
        return self.loss_weight * self.loss(scores, targets)

    @contextmanager
    def gathering(self, channels: int, device: torch.device):
        """Within the block, calls record their entries (and return 0); the block yields a list
        that holds, after it, the loss of ONE ranking of every recorded entry, times
        ``loss_weight``, or nothing when there was no call. Under ``ranking='global'`` with
        several processes the ranking runs even without a call (over no local entry), so that
        every process makes the same collective calls in every step."""
        if self._gathered is not None:
            raise RuntimeError(f'{type(self).__name__}: a head is already gathering this loss\'s calls')
        self._gathered, result = [], []
        try:
            yield result
            calls = self._gathered
        finally:
            self._gathered = None
        if calls or self.group() is not None:
            scores = (torch.cat([scores for scores, _ in calls]) if calls
                      else torch.zeros((0, channels), device=device))
            targets = (torch.cat([targets for _, targets in calls]) if calls
                       else torch.zeros((0, channels), dtype=self._target_dtype(scores), device=device))
            value = self.loss_weight * self.loss(scores, targets)
            if calls:
                result.append(value)

    def ranking_inputs(self, cls_score: torch.Tensor, target: Target, weight: torch.Tensor = None,
                       avg_factor=None, reduction_override: str = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """The call's arguments checked (as ``forward`` documents them) and turned into the
        (scores, targets) that ``loss`` ranks: logits, and int8 targets 1 / 0 / -1 (float targets
        with each positive's quality for ``quality_targets`` losses)."""
        name = type(self).__name__
        if reduction_override == 'none':
            raise ValueError(f"{name}: reduction_override='none' is not defined for a ranking loss "
                             '(it has one value for the whole ranking)')
        check_reduction(name, reduction_override or 'mean', avg_factor)
        if self.head_classes is not None and cls_score.dim() == 2 and cls_score.size(1) != self.head_classes:
            raise ValueError(f'{name}: the head has {self.head_classes} classes but passes {cls_score.size(1)} scores '
                             'per entry (a background channel?): a ranking loss needs one sigmoid score per class')
        labels, quality = target if isinstance(target, (tuple, list)) else (target, None)
        if isinstance(labels, torch.Tensor) and labels.is_floating_point() and labels.dim() == 2:
            targets, quality = dense_targets(name, cls_score, labels, weight)
        else:
            check_classification_call(name, cls_score, labels, weight, 'weight')
            targets = ranking_targets(cls_score, labels, weight)
            if quality is not None:
                quality = quality_at_labels(name, targets, labels, quality)
        if self.quality_targets:
            targets = targets.to(cls_score.dtype)
            if quality is not None:
                positive = targets == 1
                targets[positive] = quality[positive].clamp(min=self.min_quality).to(targets.dtype)
        scores = cls_score
        if self.takes_probabilities:
            # TOOD predicts probabilities; the step function's delta is a width in logits.
            scores = torch.logit(cls_score.clamp(1e-6, 1 - 1e-6))
        return scores, targets

    def _target_dtype(self, scores: torch.Tensor) -> torch.dtype:
        return scores.dtype if self.quality_targets else torch.int8

    def loss(self, cls_score: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def ranking_group(ranking: str):
    """The process group a ranking loss ranks across: the default group when ``ranking='global'``
    and this process is one of several, else None (this process's entries alone)."""
    if ranking == 'global' and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        return dist.group.WORLD
    return None


def ranking_targets(cls_score: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor = None) -> torch.Tensor:
    """AP-Loss targets (n, C) of int8 from mmdet's labels: 1 at a positive anchor's class, 0 at its
    other classes and everywhere for background (label C), -1 where the weight is 0.
    The arguments are those of a loss call that ``check_classification_call`` accepted."""
    n, num_classes = cls_score.shape
    targets = torch.zeros((n, num_classes), dtype=torch.int8, device=cls_score.device)
    foreground = labels < num_classes
    targets[foreground, labels[foreground]] = 1
    if weight is not None:
        if weight.dim() == 1:
            weight = weight[:, None]
        targets.masked_fill_(weight == 0, -1)
    return targets


def quality_at_labels(name: str, targets: torch.Tensor, labels: torch.Tensor, quality) -> torch.Tensor:
    """(n, C) float: each positive anchor's quality at its class (mmdet's ``(labels, quality)``
    target), checked: (n,) floats in [0, 1] at the positive anchors."""
    n, num_classes = targets.shape
    if not (isinstance(quality, torch.Tensor) and quality.is_floating_point() and quality.shape == (n,)):
        got = (f'{quality.dtype} of shape {tuple(quality.shape)}' if isinstance(quality, torch.Tensor)
               else type(quality).__name__)
        raise ValueError(f'{name}: quality must be a floating tensor of shape ({n},), got {got}')
    foreground = torch.nonzero(labels < num_classes).squeeze(1)
    values = quality.detach()[foreground]
    outside = ~((values >= 0) & (values <= 1))
    if outside.any():
        index = int(foreground[outside.nonzero()[0, 0]])
        raise ValueError(f'{name}: quality must be in [0, 1] at the positive anchors, got '
                         f'{quality[index].item()} at index {index}')
    dense = torch.zeros(targets.shape, dtype=quality.dtype, device=quality.device)
    dense[foreground, labels[foreground]] = values
    return dense


def dense_targets(name: str, cls_score: torch.Tensor, target: torch.Tensor,
                  weight: torch.Tensor = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """(int8 targets, quality) from a dense (n, C) target in [0, 1] (VFNet's IoU targets, YOLOX's
    IoU-scaled one-hot rows): its non-zero entries are the positives, their values the quality."""
    if target.shape != cls_score.shape:
        raise ValueError(f'{name}: a dense target must have the shape of cls_score {tuple(cls_score.shape)}, '
                         f'got {tuple(target.shape)}')
    check_classification_call(name, cls_score, target.new_zeros(len(target), dtype=torch.long), weight, 'weight')
    values = target.detach()
    outside = ~((values >= 0) & (values <= 1))
    if outside.any():
        index = tuple(outside.nonzero()[0].tolist())
        raise ValueError(f'{name}: a dense target must be in [0, 1], got {values[index].item()} at {index}')
    targets = (values > 0).to(torch.int8)
    if weight is not None:
        targets.masked_fill_((weight[:, None] if weight.dim() == 1 else weight) == 0, -1)
    return targets, values
