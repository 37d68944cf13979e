import torch
from mmdet.registry import MODELS

from ...functional import uniloss
from .ranking_loss import RankingLoss


@MODELS.register_module()
class UniLoss(RankingLoss):
    """UniLoss (Liu, Wang, Deng, ECCV 2020) of detection AP as an mmdet classification loss: the
    (anchor, class) entries get AP-Loss's targets (the positive anchor's class 1, every other entry
    0, label weight 0 ignored), and the loss is minus the interpolated AP of a bounded sample of
    them (see :mod:`mmdet_losses.functional.uniloss`), in [-1, 0].

    As a head's ``loss_cls`` it samples from the whole minibatch (the head's calls of one step are
    gathered into one, see ``RankingLoss``)::

        bbox_head=dict(type='RetinaHead',
                       loss_cls=dict(type='UniLoss', use_sigmoid=True, num_anchors=16, max_positives=32,
                                     max_negatives=2048, loss_weight=8.0))

    In a detector the negatives' sample decides whether it trains: each call pushes down only the
    negatives it samples, and a few hundred of a minibatch's tens of thousands point nowhere in
    particular (``tools/uniloss_diagnostics.py``); its gradient is also about a tenth of AP-Loss's
    update. Hence the defaults of 32 positives and 2048 negatives (65,536 pairs, as many as 64 x
    1024) and ``loss_weight=8`` in the configs: the demo detector then beats focal loss
    (docs/classification_losses.md), where 64 x 256 and weight 1 reach AP50 0.01.

    Anchors and samples are drawn from torch's global random generator (seeded by mmengine's
    ``randomness`` setting). Under distributed training each process samples and interpolates its
    own anchors' entries (there is no ``ranking='global'``: a random sample drawn on one process
    has no exact multi-process equivalent); DistributedDataParallel then averages the processes'
    gradients.

    Args:
        use_sigmoid (bool): Must be True (per-class logits, no background channel).
        num_anchors (int): Good, nearby and random anchors, each. Default 16.
        max_positives (int): Positive entries kept per call. Default 32.
        max_negatives (int): Negative entries kept per call (the highest-scoring half and a random
            half of the rest). Default 2048.
        loss_weight (float): Multiplies the loss. Default 1.0.
    """

    def __init__(self, use_sigmoid: bool = True, num_anchors: int = 16, max_positives: int = 32,
                 max_negatives: int = 2048, loss_weight: float = 1.0):
        super().__init__(use_sigmoid, loss_weight)
        if num_anchors < 1 or min(max_positives, max_negatives) < 1:
            raise ValueError('UniLoss: num_anchors, max_positives and max_negatives must be >= 1, got '
                             f'{num_anchors}, {max_positives}, {max_negatives}')
        self.num_anchors, self.max_positives, self.max_negatives = num_anchors, max_positives, max_negatives

    def loss(self, cls_score: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return uniloss(cls_score, targets, 'detection_ap', self.num_anchors, self.max_positives,
                       self.max_negatives)
