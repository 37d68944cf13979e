from typing import Optional, Tuple

import torch
import torch.distributed as dist
from mmdet.registry import MODELS
from torch import nn

from ...functional import alrp_loss
from ...ops import load_extension
from .contract import check_classification_call
from .ranking_loss import SigmoidRoIScores, ranking_group, ranking_targets


@MODELS.register_module()
class ALRPLoss(SigmoidRoIScores, nn.Module):
    """aLRP Loss (Oksuz et al., NeurIPS 2020) as an mmdet module: ONE ranking of every (anchor,
    class) entry of a training step, whose positives carry their localisation errors; returns
    ``(classification, localisation)`` (see :func:`mmdet_losses.functional.alrp_loss`).

    It needs each positive's localisation error, which mmdet's stock heads do not compute before
    their classification loss: it is the ``loss_cls`` of the aLRP heads (``ALRPRetinaHead``,
    ``ALRPATSSHead``, ``ALRPFoveaHead``, ``ALRPRPNHead``, ``ALRPBBoxHead``), which call it once per
    step with every level and image and weigh the localisation part by their self-balance weight
    (``SelfBalance``). In an RoI head it makes the head predict C sigmoid scores without a
    background channel (``SigmoidRoIScores``).

    Config::

        loss_cls=dict(type='ALRPLoss', use_sigmoid=True, delta=1.0)

    Args:
        use_sigmoid (bool): Must be True (one score per class, no background channel).
        delta (float): Half-width of the linear part of the step function; > 0. Default 1.0 (the
            authors').
        ranking (str): ``'global'`` ranks the entries of every process of a distributed run as one
            (the default), ``'local'`` each process's apart (as the authors' code does).
    """

    # mmdet's BBoxHead reads these; dense heads do not.
    custom_cls_channels = custom_activation = custom_accuracy = True

    def __init__(self, use_sigmoid: bool = True, delta: float = 1.0, ranking: str = 'global'):
        super().__init__()
        load_extension()
        if not use_sigmoid:
            raise ValueError(f'ALRPLoss: use_sigmoid must be True (one score per class, no background channel), '
                             f'got {use_sigmoid!r}')
        if not delta > 0:
            raise ValueError(f'ALRPLoss: delta must be > 0, got {delta!r}')
        if ranking not in ('global', 'local'):
            raise ValueError(f"ALRPLoss: ranking must be 'global' or 'local', got {ranking!r}")
        self.use_sigmoid = use_sigmoid
        self.delta = float(delta)
        self.ranking = ranking

    def forward(self, cls_score: torch.Tensor, labels: torch.Tensor, label_weights: Optional[torch.Tensor] = None,
                avg_factor=None, reduction_override=None,
                box_errors: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """(classification, localisation) of the entries ``cls_score`` (n, C) with mmdet's
        ``labels`` (n,) (C is background) and ``label_weights`` (0: ignored), the positives'
        errors ``box_errors`` (P,) in the order of their anchors. ``avg_factor`` and
        ``reduction_override`` are refused: the values are those of the whole ranking."""
        if box_errors is None:
            raise ValueError('ALRPLoss needs each positive\'s localisation error (box_errors=), which mmdet\'s stock '
                             'heads do not pass: use it as the loss_cls of an aLRP head (ALRPRetinaHead, ALRPATSSHead, '
                             'ALRPFoveaHead, ALRPRPNHead or ALRPBBoxHead)')
        if avg_factor is not None or reduction_override not in (None, 'mean'):
            raise ValueError(f'ALRPLoss: avg_factor and reduction_override are not defined for aLRP (one value for '
                             f'the whole ranking), got {avg_factor!r} and {reduction_override!r}')
        check_classification_call('ALRPLoss', cls_score, labels, label_weights)
        targets = ranking_targets(cls_score, labels, label_weights)
        return alrp_loss(cls_score, targets, box_errors, self.delta, group=ranking_group(self.ranking))


class SelfBalance(nn.Module):
    """aLRP's self-balance weight of the localisation part (Oksuz et al., NeurIPS 2020, sec. 5):
    ``SB = (mean classification + mean localisation) / mean localisation`` over the previous
    epoch, starting from ``initial`` (50, the authors'). Training steps ``record`` their two values;
    ``ALRPSelfBalanceHook`` calls ``update`` at each epoch's end. The weight and the running sums
    are buffers: a checkpoint stores them and ``--resume`` restores them."""

    def __init__(self, initial: float = 50.0):
        super().__init__()
        if not initial > 0:
            raise ValueError(f'SelfBalance: initial must be > 0, got {initial!r}')
        self.register_buffer('weight', torch.tensor(float(initial), dtype=torch.float64))
        # classification sum, localisation sum, steps
        self.register_buffer('sums', torch.zeros(3, dtype=torch.float64))

    def record(self, classification: torch.Tensor, localisation: torch.Tensor) -> None:
        if self.training:
            self.sums += torch.stack([classification.detach().double(), localisation.detach().double(),
                                      self.sums.new_ones(())])

    def update(self) -> None:
        """The weight from the recorded steps of every process, then a fresh record."""
        sums = self.sums.clone()
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            dist.all_reduce(sums)
        classification, localisation, steps = sums.tolist()
        if steps > 0 and localisation > 0:
            self.weight.fill_((classification + localisation) / localisation)
        self.sums.zero_()
