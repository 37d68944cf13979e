from typing import Dict, Optional

from mmdet.structures.bbox import get_box_tensor
from mmdet.utils import ConfigType
from torch import Tensor

from ..losses.alrp_loss import ALRPLoss, SelfBalance
from .value_balance import positive_entries


class ALRPHead:
    """What every aLRP head adds to its mmdet base (listed first among its bases): ``ALRPLoss`` as
    ``loss_cls`` and GIoU as ``loss_bbox`` by default, boxes regressed decoded (GIoU needs them),
    the LRP threshold ``tau`` that normalises the box errors and the self-balance weight of the
    localisation part (``SelfBalance``, updated by ``ALRPSelfBalanceHook``).

    Args:
        tau (float): The IoU threshold of LRP; in [0, 1). Default ``default_tau``: 0.5, or the
            RPN's positive threshold 0.7 in ``ALRPRPNHead`` (the authors').
        initial_self_balance (float): The weight of the localisation part before the first update.
            Default 50 (the authors').
        *args, **kwargs: As the mmdet base head.
    """
    default_tau = 0.5

    def __init__(self, *args, tau: Optional[float] = None, initial_self_balance: float = 50.0,
                 loss_cls: ConfigType = dict(type='ALRPLoss', use_sigmoid=True, delta=1.0),
                 loss_bbox: ConfigType = dict(type='GIoULoss', loss_weight=1.0), **kwargs) -> None:
        super().__init__(*args, loss_cls=loss_cls, loss_bbox=loss_bbox, **kwargs)
        name = type(self).__name__
        if not isinstance(self.loss_cls, ALRPLoss):
            raise ValueError(f'{name}: loss_cls must be ALRPLoss, got {type(self.loss_cls).__name__}')
        tau = self.default_tau if tau is None else tau
        if not 0 <= tau < 1:
            raise ValueError(f'{name}: tau must be in [0, 1), got {tau!r}')
        if hasattr(self, 'reg_decoded_bbox'):  # anchor and RoI heads (FoveaBox decodes its own)
            self.reg_decoded_bbox = True
        self.tau = float(tau)
        self.self_balance = SelfBalance(initial_self_balance)


def alrp_losses(head, cls_score: Tensor, labels: Tensor, label_weights: Tensor, positive: Tensor,
                pos_boxes: Tensor, pos_targets: Tensor, anchor: Tensor) -> Dict[str, Tensor]:
    """The losses of the aLRP Loss paper's detectors (Oksuz et al., NeurIPS 2020)
    from one ranking of every entry of a training step, as the authors' heads compute them:

    - each positive's localisation error is ``head.loss_bbox`` (GIoU) of its decoded box
      divided by ``2 (1 - head.tau)``, which maps GIoU's range [0, 2] onto LRP's [0, 1 - tau];
    - ``loss_cls`` and the localisation part are ``head.loss_cls`` (``ALRPLoss``) on the entries
      with these errors;
    - ``loss_bbox`` is the localisation part times ``head.self_balance``'s weight, and the step's
      two values are recorded for its next update.

    Args:
        cls_score (Tensor): (n, C) logits of every entry.
        labels, label_weights (Tensor): (n,) mmdet's targets (C is background).
        positive (Tensor): the positive entries' indices, ascending (the order of their errors).
        pos_boxes, pos_targets (Tensor): their decoded predicted boxes and ground-truth boxes.
        anchor (Tensor): any box prediction of the head, kept in the graph with a zero gradient
            when there is no positive here (under DistributedDataParallel every process must give
            every parameter a gradient).
    """
    errors = head.loss_bbox(get_box_tensor(pos_boxes), get_box_tensor(pos_targets),
                            reduction_override='none') / (2 * (1 - head.tau))
    classification, localisation = head.loss_cls(cls_score, labels, label_weights, box_errors=errors)
    if not positive.numel():
        localisation = localisation + anchor.sum() * 0
    head.self_balance.record(classification, localisation)
    return dict(loss_cls=classification, loss_bbox=localisation * head.self_balance.weight.to(localisation.dtype))


def anchor_alrp_losses(head, cls_score: Tensor, bbox_pred: Tensor, anchors: Tensor, labels: Tensor,
                       label_weights: Tensor, bbox_targets: Tensor) -> Dict[str, Tensor]:
    """:func:`alrp_losses` of an anchor head, from its (n, C) logits, (n, 4) box deltas, anchors
    and mmdet's per-anchor targets, all in one order: the positives' boxes are decoded from their
    anchors (the aLRP heads regress decoded boxes)."""
    positive = positive_entries(head, labels)
    boxes = head.bbox_coder.decode(anchors[positive], bbox_pred[positive])
    return alrp_losses(head, cls_score, labels, label_weights, positive, boxes, bbox_targets[positive], bbox_pred)
