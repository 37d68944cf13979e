from typing import Tuple, Union

import torch
from mmdet.registry import MODELS

from ...functional import rank_sort_loss
from .whole_ranking import WholeRankingLoss


@MODELS.register_module()
class RankSortLoss(WholeRankingLoss):
    """Rank & Sort loss (Oksuz et al., ICCV 2021) as an mmdet classification loss.

    Ranks every (anchor, class) entry of one call, as ``APLoss`` does: the anchor's true class is a
    positive, its other classes and every class of a background anchor (label ``C``) are
    negatives, anchors with label weight 0 are ignored. Each positive also has a sorting target,
    its localisation quality (the IoU of its predicted box with its ground truth): the sorting
    loss asks the positives to be ranked by it. See :func:`mmdet_losses.functional.rank_sort_loss`.

    The target is given as mmdet's ``QualityFocalLoss`` takes it: ``(labels, quality)`` with
    ``quality`` (n,) in [0, 1] at the positive anchors (a positive with quality 0 is given a
    target of ``min_quality``, so that it stays a positive). With ``labels`` alone every positive's
    quality is 1 and the sorting loss is 0: Rank & Sort's ranking part, an AP-Loss-like loss.

    ``forward`` returns ``ranking + sorting`` (one value, mmdet's loss contract: its gradient is the
    RS update); ``RankSortATSSHead`` calls ``ranking_and_sorting`` to log the two apart. Like
    ``APLoss`` the loss belongs in a head that calls it once for the whole minibatch; with
    ``ranking='global'`` a distributed run ranks the entries of every process as one.

    Config::

        loss_cls=dict(type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0)

    Args:
        use_sigmoid (bool): Must be True (per-class scores, no background channel).
        delta (float): Half-width of the linear part of the step function; > 0. Default 0.5 (the
            paper's).
        loss_weight (float): Multiplies both losses. Default 1.0.
        ranking (str): ``'global'`` or ``'local'``, as for ``APLoss``. Default ``'global'``.
        min_quality (float): The sorting target of a positive whose quality is 0. Default 1e-6.
    """

    uses_ranking_ops = True

    def __init__(self, use_sigmoid: bool = True, delta: float = 0.5, loss_weight: float = 1.0,
                 ranking: str = 'global', min_quality: float = 1e-6):
        super().__init__(use_sigmoid, loss_weight, ranking)
        if not delta > 0:
            raise ValueError(f'RankSortLoss: delta must be > 0, got {delta!r}')
        if not 0 < min_quality <= 1:
            raise ValueError(f'RankSortLoss: min_quality must be in (0, 1], got {min_quality!r}')
        self.delta = float(delta)
        self.min_quality = float(min_quality)

    def forward(self, cls_score: torch.Tensor, target: Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]],
                label_weights: torch.Tensor = None, avg_factor=None,
                reduction_override: str = None) -> torch.Tensor:
        """``ranking + sorting``, times ``loss_weight``. Arguments as in ``ranking_and_sorting``."""
        ranking, sorting = self.ranking_and_sorting(cls_score, target, label_weights, avg_factor,
                                                    reduction_override)
        return ranking + sorting

    def ranking_and_sorting(self, cls_score: torch.Tensor,
                            target: Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]],
                            label_weights: torch.Tensor = None, avg_factor=None,
                            reduction_override: str = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """The ranking loss and the sorting loss, each times ``loss_weight``.

        Args:
            cls_score (Tensor): (n, C) logits.
            target (Tensor or tuple): ``labels`` (n,) in [0, C] (C is background), or
                ``(labels, quality)`` with ``quality`` (n,) in [0, 1], read at the positives.
            label_weights (Tensor, optional): (n,) or (n, C); entries with weight 0 are ignored.
            avg_factor: Accepted for mmdet's loss call and not used (the loss normalises itself).
            reduction_override (str, optional): None, 'mean' or 'sum' (the same values).
        """
        labels, quality = target if isinstance(target, (tuple, list)) else (target, None)
        targets = self.checked_targets(cls_score, labels, label_weights, avg_factor,
                                       reduction_override).to(cls_score.dtype)
        if quality is not None:
            targets = self._with_quality(type(self).__name__, targets, labels, quality)
        ranking, sorting = rank_sort_loss(cls_score, targets, self.delta, group=self.group())
        return self.loss_weight * ranking, self.loss_weight * sorting

    def _with_quality(self, name, targets, labels, quality):
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
        rows = targets[foreground, labels[foreground]]
        # An ignored positive (label weight 0) stays ignored.
        targets[foreground, labels[foreground]] = torch.where(
            rows > 0, values.clamp(min=self.min_quality).to(targets.dtype), rows)
        return targets
