"""Harmonic loss and Harmonic IoU loss (Wang & Zhang, "Reconcile Prediction Consistency for
Balanced Object Detection").

For a positive sample with classification loss ``c`` and regression loss ``l``, the Harmonic loss
weights each task by how well the other one does (paper eq. 1, with beta_c = exp(-c), beta_r = exp(-l)):

    L = (1 + exp(-l)) * c + (1 + exp(-c)) * l

By default gradients flow through the factors, as the paper's gradient analysis assumes: with
``c = -log p`` it gives ``dL/dt = (1 + p + exp(-l) log p) dl/dt`` for a regression offset t (eq. 5)
and ``dL/dp = l - (1 + exp(-l)) / p`` (eq. 10).

The Harmonic IoU loss of a box is ``(1 + IoU)^gamma * (1 - IoU)`` (paper eq. 11). It decreases with
IoU on [0, 1] only for 0 < gamma <= 1 (eqs. 12-13), so other gammas are refused.
"""
import torch

from .checks import check_finite, check_floating

__all__ = ['harmonic_loss', 'harmonic_terms', 'hiou_loss', 'aligned_iou']


def harmonic_terms(cls_loss: torch.Tensor, reg_loss: torch.Tensor,
                   detach_factors: bool = False) -> tuple:
    """The two terms of the Harmonic loss, ``((1 + exp(-l)) * c, (1 + exp(-c)) * l)``: the
    classification and the regression part, which heads report apart. ``detach_factors=True``
    stops the gradient through exp(-l) and exp(-c)."""
    if cls_loss.shape != reg_loss.shape:
        raise ValueError('harmonic_loss: cls_loss and reg_loss must have the same shape, got '
                         f'{tuple(cls_loss.shape)} and {tuple(reg_loss.shape)}')
    for name, value in (('cls_loss', cls_loss), ('reg_loss', reg_loss)):
        check_floating('harmonic_loss', name, value)
        check_finite('harmonic_loss', name, value)
    beta_r, beta_c = torch.exp(-reg_loss), torch.exp(-cls_loss)
    if detach_factors:
        beta_r, beta_c = beta_r.detach(), beta_c.detach()
    return (1 + beta_r) * cls_loss, (1 + beta_c) * reg_loss


def harmonic_loss(cls_loss: torch.Tensor, reg_loss: torch.Tensor,
                  detach_factors: bool = False) -> torch.Tensor:
    """Element-wise Harmonic loss of per-positive-sample classification and regression losses
    (same shape). ``detach_factors=True`` stops the gradient through exp(-l) and exp(-c).

    Example:
        >>> import torch
        >>> from mmdet_losses.functional import harmonic_loss
        >>> harmonic_loss(torch.tensor([0.0, 1.0]), torch.tensor([0.0, 1.0]))
        tensor([0.0000, 2.7358])
    """
    cls_term, reg_term = harmonic_terms(cls_loss, reg_loss, detach_factors)
    return cls_term + reg_term


def aligned_iou(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """IoU of each box in ``pred`` with the box at the same place in ``target``, (..., 4) boxes
    (x1, y1, x2, y2) -> (...)."""
    if pred.shape != target.shape or pred.shape[-1:] != (4,):
        raise ValueError('aligned_iou: pred and target must both have shape (..., 4), got '
                         f'{tuple(pred.shape)} and {tuple(target.shape)}')
    for name, boxes in (('pred', pred), ('target', target)):
        check_floating('aligned_iou', name, boxes)
        check_finite('aligned_iou', name, boxes)
    top_left = torch.maximum(pred[..., :2], target[..., :2])
    bottom_right = torch.minimum(pred[..., 2:], target[..., 2:])
    overlap = (bottom_right - top_left).clamp(min=0).prod(-1)
    area_pred = (pred[..., 2:] - pred[..., :2]).clamp(min=0).prod(-1)
    area_target = (target[..., 2:] - target[..., :2]).clamp(min=0).prod(-1)
    return overlap / (area_pred + area_target - overlap).clamp(min=eps)


def hiou_loss(pred: torch.Tensor, target: torch.Tensor, gamma: float = 0.8,
              eps: float = 1e-6) -> torch.Tensor:
    """Element-wise Harmonic IoU loss of (..., 4) boxes (x1, y1, x2, y2) -> (...).

    Example:
        >>> import torch
        >>> from mmdet_losses.functional import hiou_loss
        >>> box = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
        >>> hiou_loss(box, box), hiou_loss(box, box + 4)
        (tensor([0.]), tensor([1.]))
    """
    if not 0 < gamma <= 1:
        raise ValueError(f'hiou_loss: gamma must be in (0, 1] (the loss must fall as IoU rises, '
                         f'eq. 13 of the paper), got {gamma}')
    iou = aligned_iou(pred, target, eps)
    return (1 + iou) ** gamma * (1 - iou)
