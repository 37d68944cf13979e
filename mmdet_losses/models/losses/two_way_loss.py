import torch
from mmdet.registry import MODELS

from ...functional import two_way_loss
from .ranking_loss import RankingLoss


@MODELS.register_module()
class TwoWayLoss(RankingLoss):
    """Two-way multi-label loss (Kobayashi, CVPR 2023) as an mmdet classification loss: anchors are
    the samples. The sample-wise term lifts each positive anchor's class above its other classes;
    the class-wise term lifts each class's positive anchors above every other anchor (background
    anchors included) in that class. Anchors with label weight 0 are ignored. See
    :func:`mmdet_losses.functional.two_way_loss`.

    The class-wise term compares anchors with each other, so it sees the whole minibatch: a head's
    calls of one step (one per FPN level in ``RetinaHead``) are gathered into one (see
    ``RankingLoss``)::

        bbox_head=dict(type='RetinaHead',
                       loss_cls=dict(type='TwoWayLoss', use_sigmoid=True, T_pos=4.0, T_neg=1.0))

    Under distributed training, ``ranking='global'`` (the default) computes the loss over the
    anchors of every process exactly as one process would over the whole minibatch (the class-wise
    term spans the processes; see :func:`mmdet_losses.functional.two_way_loss`), and
    ``ranking='local'`` over each process's anchors apart.

    Args:
        use_sigmoid (bool): Must be True (per-class logits, no background channel).
        T_pos (float): Temperature of the positives' soft minimum. Default 4.0.
        T_neg (float): Temperature of the negatives' soft maximum. Default 1.0.
        loss_weight (float): Multiplies the loss. Default 1.0.
        ranking (str): ``'global'`` or ``'local'``, as for ``APLoss``. Default ``'global'``.
    """

    def __init__(self, use_sigmoid: bool = True, T_pos: float = 4.0, T_neg: float = 1.0,
                 loss_weight: float = 1.0, ranking: str = 'global'):
        super().__init__(use_sigmoid, loss_weight, ranking)
        if not (T_pos > 0 and T_neg > 0):
            raise ValueError(f'TwoWayLoss: T_pos and T_neg must be > 0, got {T_pos!r} and {T_neg!r}')
        self.T_pos, self.T_neg = float(T_pos), float(T_neg)

    def loss(self, cls_score: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return two_way_loss(cls_score, targets, self.T_pos, self.T_neg, group=self.group())
