import torch
from mmdet.registry import MODELS

from ...functional import ap_loss
from .ranking_loss import RankingLoss


@MODELS.register_module()
class APLoss(RankingLoss):
    """AP-Loss (Chen et al., CVPR 2019) as an mmdet classification loss.

    Ranks every (anchor, class) entry of one call: the anchor's true class is a positive, its other
    classes and every class of a background anchor (label ``C``) are negatives, and anchors with
    label weight 0 are ignored. The value is ``1 - mean interpolated precision`` over the positives;
    backward applies the paper's error-driven update (see :func:`mmdet_losses.functional.ap_loss`).

    The paper ranks ALL entries of the minibatch together: as any head's ``loss_cls`` (mmdet's
    stock ``RetinaHead``, ``ATSSHead``, the RPN, ...; docs/any_detector.md lists them) it gets
    every entry of the head's calls of one training step as ONE ranking, though the head calls it
    once per FPN level (see ``RankingLoss``).

    Under distributed training (``torch.distributed`` initialised with more than one process, as
    ``tools/dist_train.sh`` does) the minibatch is split over the processes. With
    ``ranking='global'`` (the default) the entries of every process form ONE ranking, exactly as
    one process would rank the whole minibatch: only the positives' scores travel (O(|P|) bytes per
    step) and every process logs the same loss. ``ranking='local'`` ranks each process's share
    apart (what the official code does with its 8 images per GPU).

    Config::

        loss_cls=dict(type='APLoss', use_sigmoid=True, delta=1.0, loss_weight=1.0)

    ``use_sigmoid=True`` must be written in the config: the head reads it to predict one score per
    class without a background channel.

    Args:
        use_sigmoid (bool): Must be True (per-class scores, no background channel).
        delta (float): Half-width of the linear part of the step function; > 0. Default 1.0.
        interpolated (bool): Use interpolated precision, as the paper does. Default True.
        loss_weight (float): Multiplies the loss. Default 1.0.
        ranking (str): ``'global'`` (one ranking across all processes of a distributed run) or
            ``'local'`` (each process ranks its own entries). Default ``'global'``.
    """

    uses_ranking_ops = True

    def __init__(self, use_sigmoid: bool = True, delta: float = 1.0, interpolated: bool = True,
                 loss_weight: float = 1.0, ranking: str = 'global'):
        super().__init__(use_sigmoid, loss_weight, ranking)
        if not delta > 0:
            raise ValueError(f'APLoss: delta must be > 0, got {delta!r}')
        self.delta = float(delta)
        self.interpolated = bool(interpolated)

    def loss(self, cls_score: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return ap_loss(cls_score, targets, self.delta, self.interpolated, group=self.group())
