import torch
from mmdet.registry import MODELS
from torch import nn

from ...functional import ap_loss


@MODELS.register_module()
class APLoss(nn.Module):
    """AP-Loss (Chen et al., CVPR 2019) as an mmdet classification loss.

    Ranks every (anchor, class) entry of one call: the anchor's true class is a positive, its other
    classes and every class of a background anchor (label ``C``) are negatives, and anchors with
    label weight 0 are ignored. The value is ``1 - mean interpolated precision`` over the positives;
    backward applies the paper's error-driven update (see :func:`mmdet_losses.functional.ap_loss`).

    The paper ranks ALL entries of the minibatch together. mmdet's stock ``RetinaHead`` calls its
    ``loss_cls`` once per FPN level, so there this loss ranks within one level at a time; for the
    paper's whole-minibatch ranking use ``APLossRetinaHead`` or ``APLossSSDHead``.

    Config::

        loss_cls=dict(type='APLoss', use_sigmoid=True, delta=1.0, loss_weight=1.0)

    ``use_sigmoid=True`` must be written in the config: the head reads it to predict one score per
    class without a background channel.

    Args:
        use_sigmoid (bool): Must be True (per-class scores, no background channel).
        delta (float): Half-width of the linear part of the step function; > 0. Default 1.0.
        interpolated (bool): Use interpolated precision, as the paper does. Default True.
        loss_weight (float): Multiplies the loss. Default 1.0.
    """

    def __init__(self, use_sigmoid: bool = True, delta: float = 1.0, interpolated: bool = True,
                 loss_weight: float = 1.0):
        super().__init__()
        if not use_sigmoid:
            raise ValueError('APLoss: use_sigmoid must be True (one score per class, no background '
                             f'channel), got {use_sigmoid!r}')
        if not delta > 0:
            raise ValueError(f'APLoss: delta must be > 0, got {delta!r}')
        self.use_sigmoid = use_sigmoid
        self.delta = float(delta)
        self.interpolated = bool(interpolated)
        self.loss_weight = loss_weight

    def forward(self, cls_score: torch.Tensor, labels: torch.Tensor,
                label_weights: torch.Tensor = None, avg_factor=None,
                reduction_override: str = None) -> torch.Tensor:
        """
        Args:
            cls_score (Tensor): (n, C) logits.
            labels (Tensor): (n,) class indices in [0, C]; C is background.
            label_weights (Tensor, optional): (n,) or (n, C); entries with weight 0 are ignored.
                AP-Loss has no per-entry weights: any non-zero weight counts the entry fully.
            avg_factor: Accepted for mmdet's loss call and not used: AP-Loss is normalised by
                the number of positives, as in the paper.
            reduction_override (str, optional): None, 'mean' or 'sum' (the same single value);
                'none' is refused, as a ranking loss has no per-entry value.
        """
        if reduction_override == 'none':
            raise ValueError("APLoss: reduction_override='none' is not defined for a ranking loss "
                             '(it has one value for the whole ranking)')
        if reduction_override not in (None, 'mean', 'sum'):
            raise ValueError("APLoss: reduction_override must be None, 'mean' or 'sum', got "
                             f'{reduction_override!r}')
        targets = ranking_targets(cls_score, labels, label_weights)
        return self.loss_weight * ap_loss(cls_score, targets, self.delta, self.interpolated)


def ranking_targets(cls_score: torch.Tensor, labels: torch.Tensor,
                    label_weights: torch.Tensor = None) -> torch.Tensor:
    """AP-Loss targets (n, C) of int8 from mmdet's labels: 1 at a positive anchor's class, 0 at its
    other classes and everywhere for background (label C), -1 where the label weight is 0."""
    if cls_score.dim() != 2:
        raise ValueError(f'cls_score must have shape (n, C), got {tuple(cls_score.shape)}')
    n, num_classes = cls_score.shape
    if labels.shape != (n,):
        raise ValueError(f'labels must have shape ({n},) to match cls_score {tuple(cls_score.shape)}, '
                         f'got {tuple(labels.shape)}')
    targets = torch.zeros((n, num_classes), dtype=torch.int8, device=cls_score.device)
    foreground = (labels >= 0) & (labels < num_classes)
    targets[foreground, labels[foreground]] = 1
    if label_weights is not None:
        if label_weights.shape == (n,):
            label_weights = label_weights[:, None]
        elif label_weights.shape != (n, num_classes):
            raise ValueError(f'label_weights must have shape ({n},) or ({n}, {num_classes}), got '
                             f'{tuple(label_weights.shape)}')
        targets.masked_fill_(label_weights == 0, -1)
    return targets
