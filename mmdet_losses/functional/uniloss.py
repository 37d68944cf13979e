"""UniLoss (Liu, Wang, Deng, "A Unified Framework of Surrogate Loss by Refactoring and
Interpolation", ECCV 2020).

A metric that is a step function of the scores gets a differentiable surrogate in four steps:

1. Re-expression: the metric as a function of binary variables ``b = sign(d)`` of score
   differences ``d`` (``binary_variables``). Binary AP: one per (positive, negative) pair;
   multi-class accuracy: one per (sample, other class); detection AP: binary AP over the
   (anchor, class) entries with AP-Loss targets 1 / 0 / -1.
2. Relaxation: ``h(d) = 2 sigmoid(d) - 1`` (``relax``).
3. Anchors: configurations of b where the metric is evaluated exactly (``sample_anchors``): the
   best one (all b = 1), ``num_anchors`` good ones (the best with one bit flipped),
   ``num_anchors`` nearby ones (the current signs with one bit flipped) and ``num_anchors``
   random ones.
4. Interpolation: inverse-distance weighting of the anchors' metric values at the relaxed point,
   ``g(b) = sum_k (v_k / d_k) / sum_k (1 / d_k)`` with Euclidean ``d_k`` (``interpolate``),
   differentiated by autograd. The loss is ``-g(h(d))``.

Bounded size: the number m of binary variables is capped, so a step costs O((3 num_anchors + 1) m)
whatever the input size. AP keeps at most ``max_positives`` positives and ``max_negatives``
negatives (the highest-scoring half of the negatives and a random half of the rest), so
m <= max_positives * max_negatives (16384 by default); it is the AP of that sample of the ranking.
Accuracy keeps, per sample, the ``max_classes`` highest-scoring other classes: a sample is right
exactly when its class beats them all, so the current accuracy is unchanged; m <= n * max_classes.
"""
from dataclasses import dataclass
from typing import Callable, Optional

import torch

from .checks import check_finite, check_floating, check_values_in

__all__ = ['uniloss', 'binary_variables', 'relax', 'sample_anchors', 'interpolate',
           'ap_from_signs', 'accuracy_from_signs', 'ReExpression']

METRICS = ('binary_ap', 'accuracy', 'detection_ap')


@dataclass
class ReExpression:
    """A metric re-expressed on binary variables: ``differences`` (m,) are the score differences
    whose signs are the variables; ``metric`` maps (k, m) configurations of +-1 to (k,) values."""
    differences: torch.Tensor
    metric: Callable[[torch.Tensor], torch.Tensor]


def ap_from_signs(signs: torch.Tensor, num_positives: int, num_negatives: int) -> torch.Tensor:
    """AP of (k, P * N) configurations; entry (i, j) (row-major) is +1 when positive i is ranked
    above negative j. A positive with r negatives above it, the k-th fewest, has precision
    k / (k + r); AP is their mean. On signs that come from scores this is the exact AP (ties
    between positives do not change it); on any other configuration it extends it."""
    negatives_above = (signs.view(-1, num_positives, num_negatives) < 0).sum(-1).sort(-1).values
    place = torch.arange(1, num_positives + 1, device=signs.device, dtype=torch.float64)
    return (place / (place + negatives_above)).mean(-1)


def accuracy_from_signs(signs: torch.Tensor, num_samples: int) -> torch.Tensor:
    """Accuracy of (k, n * c) configurations; entry (i, j) is +1 when sample i's class scores
    above its j-th other class. A sample is right when it beats all of them."""
    return (signs.view(signs.size(0), num_samples, -1) > 0).all(-1).double().mean(-1)


def _ap_variables(scores, targets, max_positives, max_negatives, generator):
    positives, negatives = scores[targets == 1], scores[targets == 0]
    if positives.numel() > max_positives:
        positives = positives[torch.randperm(positives.numel(), generator=generator,
                                             device='cpu')[:max_positives].to(scores.device)]
    if negatives.numel() > max_negatives:
        # The highest-scoring negatives decide AP; a random share of the rest keeps the sample
        # honest about how many negatives lie below.
        order = negatives.detach().argsort(descending=True)
        hard = max_negatives // 2
        rest = order[hard:][torch.randperm(order.numel() - hard, generator=generator,
                                           device='cpu')[:max_negatives - hard].to(scores.device)]
        negatives = negatives[torch.cat([order[:hard], rest])]
    num_positives, num_negatives = positives.numel(), negatives.numel()
    differences = (positives[:, None] - negatives[None, :]).reshape(-1)
    return ReExpression(differences, lambda signs: ap_from_signs(signs, num_positives, num_negatives))


def binary_variables(scores: torch.Tensor, targets: torch.Tensor, metric: str = 'binary_ap',
                     max_positives: int = 64, max_negatives: int = 256, max_classes: int = 16,
                     generator: Optional[torch.Generator] = None) -> ReExpression:
    """Step 1, re-expression. ``metric``:

    - 'binary_ap': scores (n,), targets (n,) in {0, 1};
    - 'accuracy': scores (n, C), targets (n,) class indices;
    - 'detection_ap': scores and targets of one shape, targets 1 (positive), 0 (negative),
      -1 (ignored), e.g. a detection head's (anchors, classes) logits with AP-Loss targets.
    """
    if metric not in METRICS:
        raise ValueError(f'uniloss: metric must be one of {METRICS}, got {metric!r}')
    if metric == 'accuracy':
        if scores.dim() != 2 or targets.shape != scores.shape[:1]:
            raise ValueError("uniloss: metric='accuracy' needs scores (n, C) and targets (n,), got "
                             f'{tuple(scores.shape)} and {tuple(targets.shape)}')
        num_samples, num_classes = scores.shape
        if num_classes < 2 or not ((targets >= 0) & (targets < num_classes)).all():
            raise ValueError(f'uniloss: accuracy targets must be class indices in [0, {num_classes}) '
                             f'with C >= 2, got C = {num_classes}')
        targets = targets.long()
        true_score = scores.gather(1, targets[:, None])
        others = scores.detach().scatter(1, targets[:, None], float('-inf'))
        kept = others.topk(min(max_classes, num_classes - 1), dim=1).indices
        differences = (true_score - scores.gather(1, kept)).reshape(-1)
        return ReExpression(differences, lambda signs: accuracy_from_signs(signs, num_samples))
    if targets.shape != scores.shape:
        raise ValueError(f'uniloss: scores and targets must have the same shape for {metric!r}, got '
                         f'{tuple(scores.shape)} and {tuple(targets.shape)}')
    check_values_in('uniloss', f'targets for {metric!r}', targets, (0, 1) if metric == 'binary_ap' else (-1, 0, 1))
    return _ap_variables(scores.reshape(-1), targets.reshape(-1), max_positives, max_negatives, generator)


def relax(differences: torch.Tensor) -> torch.Tensor:
    """Step 2: h(d) = 2 sigmoid(d) - 1, in (-1, 1), the relaxed sign."""
    return 2 * torch.sigmoid(differences) - 1


def sample_anchors(current_signs: torch.Tensor, num_anchors: int = 16,
                   generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Step 3: (1 + 3 num_anchors, m) configurations of +-1: the best (all 1), then num_anchors
    good, num_anchors nearby and num_anchors random ones."""
    m, device = current_signs.numel(), current_signs.device

    def flip_one_bit(base):
        anchors = base.repeat(num_anchors, 1)
        bits = torch.randint(m, (num_anchors,), generator=generator).to(device)
        anchors[torch.arange(num_anchors, device=device), bits] *= -1
        return anchors

    best = torch.ones(1, m, device=device)
    random = torch.randint(2, (num_anchors, m), generator=generator).to(device) * 2.0 - 1
    return torch.cat([best, flip_one_bit(best), flip_one_bit(current_signs.float()[None]), random])


def interpolate(point: torch.Tensor, anchors: torch.Tensor, values: torch.Tensor,
                eps: float = 1e-12) -> torch.Tensor:
    """Step 4: inverse-distance weighting of ``values`` (k,) at the anchors (k, m), evaluated at
    ``point`` (m,). At an anchor it returns that anchor's value exactly."""
    distances = (anchors.to(point.dtype) - point).norm(dim=1)
    values = values.to(point.dtype)
    closest = distances.detach().argmin()
    if distances[closest] < eps:
        # 1/0 weights: the value at the anchor, still in the graph (with a zero gradient).
        return values[closest] + 0 * point.sum()
    weights = 1 / distances
    return (weights * values).sum() / weights.sum()


def uniloss(scores: torch.Tensor, targets: torch.Tensor, metric: str = 'binary_ap',
            num_anchors: int = 16, max_positives: int = 64, max_negatives: int = 256,
            max_classes: int = 16, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """UniLoss of ``metric`` (see ``binary_variables`` for the shapes): ``-g(h(d))``, the negated
    interpolated metric, in [-1, 0]. Without any binary variable (no positive or no negative to
    rank) the loss is 0 with a zero gradient.

    Example:
        >>> import torch
        >>> from mmdet_losses.functional import uniloss
        >>> scores = torch.tensor([2.0, -1.0, 0.5, 0.0], requires_grad=True)
        >>> targets = torch.tensor([1, 0, 1, 0])
        >>> loss = uniloss(scores, targets, generator=torch.Generator().manual_seed(0))
        >>> loss.backward()
        >>> bool(-1 <= loss <= 0), bool(scores.grad[0] < 0 and scores.grad[1] > 0)
        (True, True)
    """
    if num_anchors < 1:
        raise ValueError(f'uniloss: num_anchors must be >= 1, got {num_anchors!r}')
    if min(max_positives, max_negatives, max_classes) < 1:
        raise ValueError('uniloss: max_positives, max_negatives and max_classes must be >= 1, got '
                         f'{max_positives}, {max_negatives}, {max_classes}')
    check_floating('uniloss', 'scores', scores)
    check_finite('uniloss', 'scores', scores)
    problem = binary_variables(scores, targets, metric, max_positives, max_negatives, max_classes,
                               generator)
    if problem.differences.numel() == 0:
        return scores.sum() * 0
    point = relax(problem.differences)
    anchors = sample_anchors(torch.where(problem.differences.detach() > 0, 1.0, -1.0), num_anchors,
                             generator)
    return -interpolate(point, anchors, problem.metric(anchors))
