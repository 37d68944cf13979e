"""One ranking per training step in mmdet's stock heads, by one config line.

mmdet's heads call ``loss_cls`` once per FPN level (``AnchorHead``: RetinaNet, ATSS, GFL, RTMDet,
the RPN, ...), once for all levels (FCOS, FoveaBox, YOLOX), once per decoder layer (the DETR
family) or once over the sampled RoIs of all images (``BBoxHead``). A ranking loss
(``RankingLoss``: AP-Loss, AUC-Loss, Rank & Sort, the Two-way loss, UniLoss) needs every entry of
one prediction set in ONE ranking. When such a loss becomes a head's ``loss_cls``, this module
looks the head up in ``RANKING_HEADS`` (by its class, then its bases, as long as no class in
between changes how the losses are computed) and:

- for a head whose losses come from one method (``loss_by_feat`` of a dense head, ``loss`` of an
  RoI head), gathers the method's calls of ``loss_cls`` into one ranking: the calls record their
  entries and return 0, and when the method returns, its ``loss_cls`` entry (a value or a list of
  per-level values, 0 whatever the head did with them) becomes the loss of the one ranking, whose
  gradients reach every call's scores. The head keeps its type and name (the instance's class
  becomes a subclass of it that adds the gathering);
- for a head whose calls are separate prediction sets (each decoder layer of a DETR; the
  encoder's and the denoising queries' sets), leaves each call its own ranking;
- tells RoI heads' ``BBoxHead`` to predict C sigmoid scores without a background channel
  (``custom_cls_channels`` / ``custom_activation`` / ``custom_accuracy``);
- refuses, when the model is built, a head whose calls cannot be one ranking, naming what to use.

Nothing changes for a head whose ``loss_cls`` is not a ranking loss: the hook below returns at its
first test (torch's module registration hook, called whenever a module is assigned to another's
attribute). A custom head joins with ``register_ranking_head``.
"""
import functools
import warnings
from dataclasses import dataclass
from typing import Dict, Optional, Type

import torch
from mmdet.models.dense_heads import (AnchorHead, ATSSHead, AutoAssignHead, CenterNetHead, CenterNetUpdateHead,
                                      DDODHead, DETRHead, FCOSHead, FoveaHead, FreeAnchorRetinaHead,
                                      FSAFHead, GFLHead, GroundingDINOHead, PAAHead, PISARetinaHead, RepPointsHead, RetinaHead,
                                      RPNHead, RTMDetHead, SABLRetinaHead, SSDHead, TOODHead, VFNetHead,
                                      YOLOFHead, YOLOXHead)
from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
from mmdet.models.dense_heads.base_mask_head import BaseMaskHead
from mmdet.models.roi_heads.bbox_heads import BBoxHead, DoubleConvFCBBoxHead
from torch import nn
from torch.nn.modules.module import register_module_module_registration_hook

from .losses.rank_sort_loss import RankSortLoss
from .losses.ranking_loss import RankingLoss

__all__ = ['RANKING_HEADS', 'RankingCalls', 'register_ranking_head', 'ranking_calls']

HEAD_BASES = (BaseDenseHead, BaseMaskHead, BBoxHead, DETRHead)
LOSS_METHODS = ('loss', 'loss_and_target', 'loss_by_feat', 'loss_by_feat_single')


@dataclass(frozen=True)
class RankingCalls:
    """How a head calls its ``loss_cls``, for a ranking loss.

    Args:
        method (str, optional): The head's method whose calls of ``loss_cls`` form one ranking
            (one training step's prediction set); None: each call is its own ranking.
        key (str): The entry of the method's loss dict that holds the classification loss.
        passes_quality (bool): The head passes a quality with its targets (``(labels, quality)``
            or a dense target): without it ``RankSortLoss`` sorts nothing.
        probabilities (bool): The head passes probabilities (TOOD), not logits: they are ranked
            as logits, where the step function's width is measured.
        roi (bool): An RoI head (``BBoxHead``): per-class sigmoid scores, no background channel.
        refused (str, optional): Why the head cannot use a ranking loss, and what to use instead.
    """
    method: Optional[str] = 'loss_by_feat'
    key: str = 'loss_cls'
    passes_quality: bool = False
    probabilities: bool = False
    roi: bool = False
    refused: Optional[str] = None


RANKING_HEADS: Dict[Type[nn.Module], RankingCalls] = {
    # One call per FPN level (AnchorHead.loss_by_feat): RetinaHead, RetinaSepBNHead, ...
    AnchorHead: RankingCalls(),
    ATSSHead: RankingCalls(),
    DDODHead: RankingCalls(),
    GFLHead: RankingCalls(passes_quality=True),
    RepPointsHead: RankingCalls(),
    RetinaHead: RankingCalls(),
    RPNHead: RankingCalls(key='loss_rpn_cls'),
    RTMDetHead: RankingCalls(passes_quality=True),
    SABLRetinaHead: RankingCalls(),
    TOODHead: RankingCalls(passes_quality=True, probabilities=True),
    # One call for all levels.
    FCOSHead: RankingCalls(),
    FoveaHead: RankingCalls(),
    VFNetHead: RankingCalls(passes_quality=True),
    YOLOFHead: RankingCalls(),
    YOLOXHead: RankingCalls(passes_quality=True),
    # RoI heads: one call over the sampled RoIs of all images.
    BBoxHead: RankingCalls(method='loss', roi=True),
    # Heads whose classification loss is not one ranking.
    DoubleConvFCBBoxHead: RankingCalls(refused='its fc_cls always predicts a background channel (num_classes + 1 '
                                       'scores); use Shared2FCBBoxHead'),
    AutoAssignHead: RankingCalls(refused='it computes its classification loss itself from weighted '
                                 'positive and negative terms and never calls loss_cls; use FCOSHead'),
    CenterNetHead: RankingCalls(refused='its classification target is a Gaussian heat map, not labels'),
    CenterNetUpdateHead: RankingCalls(refused='its classification target is a Gaussian heat map, not labels'),
    FreeAnchorRetinaHead: RankingCalls(refused='its classification loss is a bag-of-anchors likelihood '
                                       'computed by the head; use RetinaHead'),
    GroundingDINOHead: RankingCalls(refused='its classification targets are text tokens matched to boxes, not '
                                    'class labels'),
    FSAFHead: RankingCalls(refused="it selects each object's FPN level by per-anchor losses "
                           "(reduction='none'), which a ranking loss does not have; use RetinaHead"),
    PAAHead: RankingCalls(refused="it scores anchors by per-anchor losses (reduction_override='none'), "
                          'which a ranking loss does not have; use ValueBalancedPAAHead (RS-PAA: PAA scoring '
                          'with its own loss, then a ranking of every anchor)'),
    PISARetinaHead: RankingCalls(refused='it reweights per-anchor losses; use RetinaHead'),
    SSDHead: RankingCalls(refused='it mines hard negatives by per-anchor softmax losses; use '
                          'SigmoidSSDHead (sigmoid scores, no mining)'),
}


def register_ranking_head(head: Optional[Type[nn.Module]] = None, calls: RankingCalls = RankingCalls()):
    """Tell mmdet_losses how ``head`` calls its ``loss_cls`` (default: every call of one
    ``loss_by_feat`` is one ranking, logged as ``loss_cls``). A class decorator, with or without
    ``calls``: ``@register_ranking_head`` or ``@register_ranking_head(calls=RankingCalls(...))``."""
    if head is None:
        return functools.partial(register_ranking_head, calls=calls)
    RANKING_HEADS[head] = calls
    return head


def ranking_calls(head: Type[nn.Module]) -> RankingCalls:
    """The ``RankingCalls`` of a head class: its own, else that of its nearest base class in
    ``RANKING_HEADS``, unless a class in between defines one of the loss methods (it may call
    ``loss_cls`` another way). A ValueError when the head cannot use a ranking loss."""
    head = getattr(head, 'gathering_base', head)
    calls = _detr_calls(head) if issubclass(head, DETRHead) else _nearest_calls(head)
    if calls.refused is not None:
        known = sorted(cls.__name__ for cls, c in RANKING_HEADS.items() if c.refused is None) + ['DETRHead']
        raise ValueError(f'{head.__name__} cannot use a ranking loss as loss_cls: {calls.refused}. Heads that '
                         f'can: {", ".join(known)} and their subclasses that keep their loss methods '
                         '(docs/any_detector.md); a custom head joins with '
                         'mmdet_losses.models.register_ranking_head')
    return calls


def _detr_calls(head: Type[nn.Module]) -> RankingCalls:
    """DETR-family heads call loss_cls once per decoder layer (and for the encoder's and the
    denoising queries' predictions), each over all images: separate prediction sets, each its own
    ranking, unless the table says otherwise."""
    return next((RANKING_HEADS[cls] for cls in head.__mro__ if cls in RANKING_HEADS), RankingCalls(method=None))


def _nearest_calls(head: Type[nn.Module]) -> RankingCalls:
    for cls in head.__mro__:
        if cls in RANKING_HEADS:
            return RANKING_HEADS[cls]
        if any(method in vars(cls) for method in LOSS_METHODS):
            return RankingCalls(refused=f'{cls.__name__} changes how the losses are computed '
                                f'({", ".join(m for m in LOSS_METHODS if m in vars(cls))}) and is not one of '
                                'the heads mmdet_losses knows')
    return RankingCalls(refused='it is not one of the heads mmdet_losses knows')


def _adopt_ranking_loss(module: nn.Module, name: str, submodule: nn.Module) -> None:
    """torch's module registration hook: a ranking loss assigned to an mmdet head."""
    if not isinstance(submodule, RankingLoss) or not isinstance(module, HEAD_BASES):
        return None
    if submodule.owning_head == id(module):
        return None  # registered again (mmengine's revert_sync_batchnorm re-adds every child)
    submodule.owning_head = id(module)
    head = type(module).__name__
    if name != 'loss_cls':
        raise ValueError(f'{head}.{name}: a ranking loss ({type(submodule).__name__}) can only be a head\'s '
                         'loss_cls')
    calls = ranking_calls(type(module))
    submodule.takes_probabilities = calls.probabilities
    submodule.head_classes = getattr(module, 'num_classes', None)
    submodule.custom_cls_channels = submodule.custom_activation = submodule.custom_accuracy = calls.roi
    if isinstance(submodule, RankSortLoss) and not calls.passes_quality:
        warnings.warn(f'{head} passes labels without a quality to RankSortLoss: every positive\'s sorting '
                      'target is 1, so the sorting loss is 0 and only the ranking part trains. Heads that '
                      'pass a quality: GFLHead, TOODHead, RTMDetHead, VFNetHead, YOLOXHead, ValueBalancedATSSHead',
                      stacklevel=2)
    if calls.method is not None and not hasattr(type(module), 'gathering_base'):
        module.__class__ = gathering_head(type(module), calls.method, calls.key)
    return None


@functools.cache
def gathering_head(base: Type[nn.Module], method: str, key: str) -> Type[nn.Module]:
    """``base`` whose ``method`` gathers its calls of a ranking ``loss_cls`` into one ranking and
    logs it as ``key``; same name, so logs and model summaries read as before."""
    unwrapped = getattr(base, method)

    @functools.wraps(unwrapped)
    def gathered(self, *args, **kwargs):
        loss = self.loss_cls
        if not isinstance(loss, RankingLoss):
            return unwrapped(self, *args, **kwargs)
        channels = getattr(self, 'cls_out_channels', None) or self.num_classes
        with loss.gathering(channels, next(self.parameters()).device) as one_ranking:
            losses = unwrapped(self, *args, **kwargs)
        if one_ranking:
            _place(type(self).__name__, losses, key, one_ranking[0])
        return losses

    return type(base.__name__, (base,), {method: gathered, 'gathering_base': base, '__module__': base.__module__,
                                         '__qualname__': base.__qualname__, '__doc__': base.__doc__})


def _place(head: str, losses: dict, key: str, value: torch.Tensor) -> None:
    """``losses[key] = value``, once it is clear that the entry holds only what the gathered calls
    returned (0, whatever the head made of them)."""
    if key not in losses:
        raise RuntimeError(f'{head}: its losses {sorted(losses)} have no {key!r} entry for the one ranking of '
                           'its loss_cls calls; register the head with the right key '
                           '(mmdet_losses.models.register_ranking_head)')
    parts = losses[key] if isinstance(losses[key], (list, tuple)) else [losses[key]]
    if torch.stack([part.detach().abs().sum() for part in parts]).sum().item() != 0:
        raise RuntimeError(f'{head}: its {key!r} entry mixes other terms with the value of loss_cls, so the one '
                           'ranking of its calls cannot replace it')
    losses[key] = value


register_module_module_registration_hook(_adopt_ranking_loss)
