from typing import List

import torch
from mmdet.models.dense_heads import FoveaHead
from mmdet.registry import MODELS
from mmdet.utils import InstanceList, OptInstanceList
from torch import Tensor

from .alrp import ALRPHead, alrp_losses
from .checks import check_predictions
from .value_balance import flatten_levels, positive_entries


@MODELS.register_module()
class ALRPFoveaHead(ALRPHead, FoveaHead):
    """FoveaBox's head trained by aLRP Loss (Oksuz et al., NeurIPS 2020; 39.7 AP on COCO minival at
    500 px in the authors' README, against 38.3 with focal loss and 36.5 with AP Loss), as the
    authors' ``aLRPLossFoveaHead``: FoveaBox's assignment (each object's fovea on the level of its
    scale), one ``ALRPLoss`` call per step over every (location, class) entry of every level and
    image, each positive's error the GIoU loss between its predicted box and its target, both
    decoded from FoveaBox's log-space edges (``x - base_edge * exp(t)`` and so on), over
    ``2 (1 - tau)``; ``loss_bbox`` the localisation part times the self-balance weight
    (``ALRPSelfBalanceHook``). Prediction is mmdet's ``FoveaHead``'s.

    Config (the rest as ``FoveaHead``)::

        bbox_head=dict(type='ALRPFoveaHead', num_classes=80, in_channels=256, feat_channels=256,
                       strides=[8, 16, 32, 64, 128], base_edge_list=[16, 32, 64, 128, 256],
                       scale_ranges=((1, 64), (32, 128), (64, 256), (128, 512), (256, 2048)),
                       sigma=0.4, with_deform=False,
                       loss_cls=dict(type='ALRPLoss', use_sigmoid=True, delta=1.0),
                       loss_bbox=dict(type='GIoULoss', loss_weight=1.0))
        custom_hooks = [dict(type='ALRPSelfBalanceHook')]

    Arguments: ``ALRPHead``'s and ``FoveaHead``'s.
    """

    def loss_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                     batch_gt_instances: InstanceList, batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        check_predictions(self, cls_scores, bbox_preds)
        featmap_sizes = [score.size()[-2:] for score in cls_scores]
        priors = self.prior_generator.grid_priors(featmap_sizes, dtype=bbox_preds[0].dtype,
                                                  device=bbox_preds[0].device)
        labels, log_edges = self.get_targets(batch_gt_instances, featmap_sizes, priors)
        # Entries in the targets' order: level by level, each image's locations in turn.
        num_images = cls_scores[0].size(0)
        cls_score = torch.cat([flatten_levels(score, self.cls_out_channels) for score in cls_scores])
        bbox_pred = torch.cat([flatten_levels(pred, 4) for pred in bbox_preds])
        points = torch.cat([level.repeat(num_images, 1) for level in priors])
        base_edges = torch.cat([level.new_full((num_images * level.size(0), 1), float(edge))
                                for level, edge in zip(priors, self.base_edge_list)])
        positive = positive_entries(self, labels)
        boxes = fovea_boxes(points[positive], base_edges[positive], bbox_pred[positive])
        targets = fovea_boxes(points[positive], base_edges[positive], log_edges[positive])
        return alrp_losses(self, cls_score, labels, None, positive, boxes, targets, bbox_pred)


def fovea_boxes(points: Tensor, base_edges: Tensor, log_edges: Tensor) -> Tensor:
    """(x1, y1, x2, y2) of FoveaBox's log-space distances from each point to the box's left, top,
    right and bottom edges, in units of the level's base edge (not clipped to the image)."""
    distances = base_edges * log_edges.exp()
    return torch.cat([points - distances[:, :2], points + distances[:, 2:]], dim=1)
