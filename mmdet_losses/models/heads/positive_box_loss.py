from mmdet.structures.bbox import get_box_tensor
from torch import Tensor


def positive_box_loss(head, bbox_pred: Tensor, bbox_targets: Tensor, bbox_weights: Tensor,
                      anchors: Tensor, positive: Tensor) -> Tensor:
    """The box loss (``head.loss_bbox``) of each positive anchor, summed over its coordinates:
    (num_positives,). Works with any mmdet box loss that takes ``reduction_override='none'``:
    smooth L1 or L1 on deltas; IoU losses, HarmonicIoULoss among them, on boxes decoded when
    ``head.reg_decoded_bbox``."""
    bbox_pred, bbox_targets = bbox_pred[positive], bbox_targets[positive]
    if not positive.any():
        # Keeps the box branch in the graph (as mmdet's heads do) without calling the loss on
        # empty input, which some IoU losses reduce to a scalar.
        return bbox_pred.sum(-1)
    if head.reg_decoded_bbox:
        bbox_pred = get_box_tensor(head.bbox_coder.decode(anchors[positive], bbox_pred))
    loss = head.loss_bbox(bbox_pred, bbox_targets, bbox_weights[positive], reduction_override='none')
    return loss.sum(-1) if loss.dim() == 2 else loss
