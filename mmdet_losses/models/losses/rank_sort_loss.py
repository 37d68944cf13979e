from typing import Tuple, Union

import torch
from mmdet.registry import MODELS

from ...functional import rank_sort_loss
from .ranking_loss import RankingLoss


@MODELS.register_module()
class RankSortLoss(RankingLoss):
    """Rank & Sort loss (Oksuz et al., ICCV 2021) as an mmdet classification loss.

    Ranks every (anchor, class) entry of one training step, as ``APLoss`` does: the anchor's true
    class is a positive, its other classes and every class of a background anchor (label ``C``)
    are negatives, anchors with label weight 0 are ignored. Each positive also has a sorting
    target, its localisation quality (the IoU of its predicted box with its ground truth): the
    sorting loss asks the positives to be ranked by it. See
    :func:`mmdet_losses.functional.rank_sort_loss`.

    The quality comes with the target, as mmdet's quality heads pass it: ``(labels, quality)``
    (GFL, TOOD, RTMDet; ``quality`` (n,) in [0, 1] at the positive anchors) or a dense (n, C)
    target (VFNet). A positive with quality 0 is given a target of ``min_quality``, so that it
    stays a positive. With ``labels`` alone (RetinaNet, ATSS, FCOS, the RPN, RoI heads) every
    positive's quality is 1 and the sorting loss is 0: only Rank & Sort's ranking part, an
    AP-Loss-like loss, trains (the owning head warns when it is built).

    ``forward`` returns ``ranking + sorting`` (one value, mmdet's loss contract: its gradient is the
    RS update); ``ranking_and_sorting`` gives the two apart for one call. As any head's
    ``loss_cls`` the head's calls of one step form one ranking, and with ``ranking='global'`` a
    distributed run ranks the entries of every process as one (see ``RankingLoss``).

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
    quality_targets = True

    def __init__(self, use_sigmoid: bool = True, delta: float = 0.5, loss_weight: float = 1.0,
                 ranking: str = 'global', min_quality: float = 1e-6):
        super().__init__(use_sigmoid, loss_weight, ranking)
        if not delta > 0:
            raise ValueError(f'RankSortLoss: delta must be > 0, got {delta!r}')
        if not 0 < min_quality <= 1:
            raise ValueError(f'RankSortLoss: min_quality must be in (0, 1], got {min_quality!r}')
        self.delta = float(delta)
        self.min_quality = float(min_quality)

    def loss(self, cls_score: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        ranking, sorting = rank_sort_loss(cls_score, targets, self.delta, group=self.group())
        return ranking + sorting

    def ranking_and_sorting(self, cls_score: torch.Tensor,
                            target: Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]],
                            weight: torch.Tensor = None, avg_factor=None,
                            reduction_override: str = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """The ranking loss and the sorting loss of one call's entries, each times
        ``loss_weight``; arguments as ``forward``."""
        scores, targets = self.ranking_inputs(cls_score, target, weight, avg_factor, reduction_override)
        ranking, sorting = rank_sort_loss(scores, targets, self.delta, group=self.group())
        return self.loss_weight * ranking, self.loss_weight * sorting
