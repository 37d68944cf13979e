"""Anchor Loss (Ryou, Jeong, Perona, "Anchor Loss: Modulating Loss Scale based on Prediction
Difficulty", ICCV 2019).

Binary cross-entropy per class whose terms are scaled by how a class's score compares with an
"anchor probability" taken from the same sample (the paper's eq. 1), with ``q = sigmoid(logit)``:

    l = -(1 - q + q_pos)^g_t * p * log(q) - (1 + q - q_neg)^g_b * (1 - p) * log(1 - q)

    mode 'pos'  (eq. 2): q_pos = the highest score among the sample's negative classes, g_t = gamma, g_b = 0
    mode 'neg'  (eq. 3): q_neg = the score of the sample's target class, g_t = 0, g_b = gamma
    mode 'both' (eq. 4): both anchors, g_t = g_b = gamma

So a target class scored below q_pos, or a background class scored above q_neg, costs more than
its BCE (paper Figure 1), and less otherwise. The anchors are constants (no gradient flows through
them), shifted by ``slack`` (q_pos + slack <= 1, q_neg - slack >= 0) as in the authors' code. A
sample without a target class (a background anchor in detection) uses q_neg = 0; one without a
negative class uses q_pos = 0. 'neg' is the default: the best of the three in the paper's Table 1.
"""
import torch
import torch.nn.functional as F

from .checks import check_finite, check_floating, check_values_in

__all__ = ['anchor_loss']

MODES = ('pos', 'neg', 'both')


def anchor_loss(logits: torch.Tensor, targets: torch.Tensor, gamma: float = 0.5, slack: float = 0.05,
                mode: str = 'neg') -> torch.Tensor:
    """Element-wise Anchor Loss: (n, C) logits and (n, C) targets, each row one-hot or all zero
    (background) -> (n, C) losses. Log terms come from log-sigmoid of the logits.

    Example:
        >>> import torch
        >>> from mmdet_losses.functional import anchor_loss
        >>> logits = torch.tensor([[2.0, 0.5, -1.0], [-2.0, -3.0, 0.0]])
        >>> targets = torch.tensor([[1, 0, 0], [0, 0, 0]])
        >>> anchor_loss(logits, targets, gamma=0.5, mode='neg').shape
        torch.Size([2, 3])
    """
    if mode not in MODES:
        raise ValueError(f"anchor_loss: mode must be one of {MODES}, got {mode!r}")
    if not gamma >= 0:
        raise ValueError(f'anchor_loss: gamma must be >= 0, got {gamma!r}')
    if not 0 <= slack < 1:
        raise ValueError(f'anchor_loss: slack must be in [0, 1), got {slack!r}')
    if logits.dim() != 2 or targets.shape != logits.shape:
        raise ValueError('anchor_loss: logits and targets must both have shape (n, C), got '
                         f'{tuple(logits.shape)} and {tuple(targets.shape)}')
    check_floating('anchor_loss', 'logits', logits)
    check_values_in('anchor_loss', 'targets', targets, (0, 1))
    if (targets.sum(1) > 1).any():
        raise ValueError('anchor_loss: each row of targets must be one-hot or all zero (at most one 1), '
                         f'got row {int((targets.sum(1) > 1).nonzero()[0])} with several')
    check_finite('anchor_loss', 'logits', logits)
    targets = targets.to(logits.dtype)

    q = logits.detach().sigmoid()
    target_factor = background_factor = 1.0
    if mode in ('pos', 'both'):
        # Highest score among the negative classes; 0 when the row has none.
        q_pos = (q * (1 - targets)).amax(1, keepdim=True) if logits.size(1) > 1 else torch.zeros_like(q)
        q_pos = (q_pos + slack).clamp(max=1)
        target_factor = (1 - q + q_pos) ** gamma
    if mode in ('neg', 'both'):
        # The target class's score; 0 for a background row.
        q_neg = ((q * targets).sum(1, keepdim=True) - slack).clamp(min=0)
        background_factor = (1 + q - q_neg) ** gamma
    return (-target_factor * targets * F.logsigmoid(logits)
            - background_factor * (1 - targets) * F.logsigmoid(-logits))
