import torch
from mmdet.registry import MODELS
from torch import nn

from ...functional import hiou_loss
from .contract import check_reduction, reduce_loss


@MODELS.register_module()
class HarmonicIoULoss(nn.Module):
    """Harmonic IoU loss (Wang & Zhang): ``(1 + IoU)^gamma * (1 - IoU)`` per box, a box loss on
    decoded (x1, y1, x2, y2) boxes; use it with ``reg_decoded_bbox=True``::

        bbox_head=dict(reg_decoded_bbox=True,
                       loss_bbox=dict(type='HarmonicIoULoss', gamma=0.8, loss_weight=1.0))

    Args:
        gamma (float): Focusing parameter in (0, 1]; larger values weight high-IoU boxes more.
            Default 0.8.
        eps (float): Lower bound of the union area. Default 1e-6.
        reduction (str): 'none', 'mean' or 'sum'. Default 'mean'.
        loss_weight (float): Multiplies the loss. Default 1.0.
    """

    def __init__(self, gamma: float = 0.8, eps: float = 1e-6, reduction: str = 'mean',
                 loss_weight: float = 1.0):
        super().__init__()
        if not 0 < gamma <= 1:
            raise ValueError(f'HarmonicIoULoss: gamma must be in (0, 1], got {gamma}')
        check_reduction('HarmonicIoULoss', reduction, None)
        self.gamma = gamma
        self.eps = eps
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor = None,
                avg_factor=None, reduction_override: str = None) -> torch.Tensor:
        """pred, target: (n, 4) boxes; weight: (n,) or (n, 4), the latter averaged per box as
        mmdet's IoU losses do."""
        reduction = reduction_override or self.reduction
        check_reduction('HarmonicIoULoss', reduction, avg_factor)
        if pred.dim() != 2 or pred.shape[-1:] != (4,):
            raise ValueError(f'HarmonicIoULoss: pred must have shape (n, 4), got {tuple(pred.shape)}')
        n = pred.size(0)
        if weight is not None:
            if weight.shape not in ((n,), (n, 4)):
                raise ValueError(f'HarmonicIoULoss: weight must have shape ({n},) or ({n}, 4), got '
                                 f'{tuple(weight.shape)}')
            if weight.dim() == 2:
                weight = weight.mean(-1)
        loss = hiou_loss(pred, target, self.gamma, self.eps)
        return self.loss_weight * reduce_loss(loss, weight, reduction, avg_factor)
