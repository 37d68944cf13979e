import torch
from mmdet.registry import MODELS
from torch import nn

from ...functional import anchor_loss
from ...functional.anchor_loss import MODES
from .contract import check_classification_call, check_reduction, reduce_loss
from .ranking_loss import ranking_targets


@MODELS.register_module()
class AnchorLoss(nn.Module):
    """Anchor Loss (Ryou et al., ICCV 2019) as an mmdet classification loss on sigmoid scores: a
    per-class binary cross-entropy modulated by an anchor probability from the same anchor (see
    :func:`mmdet_losses.functional.anchor_loss`). A per-entry loss, so mmdet's ``RetinaHead`` can
    use it as is::

        bbox_head=dict(loss_cls=dict(type='AnchorLoss', use_sigmoid=True, gamma=0.5, slack=0.05,
                                     mode='neg', loss_weight=1.0))

    Args:
        use_sigmoid (bool): Must be True (per-class scores, no background channel).
        gamma (float): Modulation exponent, >= 0. Default 0.5.
        slack (float): Shift of the anchor probability, in [0, 1). Default 0.05.
        mode (str): 'pos', 'neg' (default) or 'both' (the paper's eqs. 2-4).
        reduction (str): 'none', 'mean' or 'sum'. Default 'mean'.
        loss_weight (float): Multiplies the loss. Default 1.0.
    """

    def __init__(self, use_sigmoid: bool = True, gamma: float = 0.5, slack: float = 0.05,
                 mode: str = 'neg', reduction: str = 'mean', loss_weight: float = 1.0):
        super().__init__()
        if not use_sigmoid:
            raise ValueError(f'AnchorLoss: use_sigmoid must be True, got {use_sigmoid!r}')
        if mode not in MODES:
            raise ValueError(f'AnchorLoss: mode must be one of {MODES}, got {mode!r}')
        check_reduction('AnchorLoss', reduction, None)
        self.use_sigmoid = use_sigmoid
        self.gamma, self.slack, self.mode = gamma, slack, mode
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, cls_score: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor = None,
                avg_factor=None, reduction_override: str = None) -> torch.Tensor:
        """cls_score: (n, C) logits; labels: (n,) in [0, C], C is background; weight: (n,) or
        (n, C)."""
        reduction = reduction_override or self.reduction
        check_reduction('AnchorLoss', reduction, avg_factor)
        check_classification_call('AnchorLoss', cls_score, labels, weight, 'weight')
        # One-hot rows, all zero for background (no label weights: they weight the loss below).
        targets = ranking_targets(cls_score, labels)
        loss = anchor_loss(cls_score, targets, self.gamma, self.slack, self.mode)
        if weight is not None and weight.dim() == 1:
            weight = weight[:, None]
        return self.loss_weight * reduce_loss(loss, weight, reduction, avg_factor)
