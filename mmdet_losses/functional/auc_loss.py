"""AUC-Loss, the pairwise ranking loss that the AP-Loss paper compares with (Chen et al., CVPR 2019,
Table 1 of the TPAMI version: SSD512 on VOC07): the fraction of (positive, negative) pairs that are
ranked wrongly, each pair smoothed by the same piecewise step as AP-Loss,

    L = 1 / (|P| |N|) * sum_{i in P} sum_{j in N} H(s_j - s_i),   H(x) = clamp(x / (2 delta) + 1/2, 0, 1),

trained with the same kind of error-driven update: negative j gets (1 / (|P| |N|)) sum_i H(s_j - s_i)
and positive i gets -(1 / (|P| |N|)) sum_j H(s_j - s_i). Both sums are the ranking op's two passes
(``false_positive_sums`` and ``negative_weight_sums`` with every weight 1 / (|P| |N|)), so the loss
costs O(|N| log |P|) and ranks across the processes of a group as exactly as ``ap_loss``. The loss is
0 (with a zero gradient) without positives or without negatives.
"""
import torch

from .. import ops
from .checks import check_ranking_arguments, integer_targets
from .group_ranking import RankingPositives

__all__ = ['auc_loss']


def auc_loss(scores: torch.Tensor, targets: torch.Tensor, delta: float = 1.0, group=None) -> torch.Tensor:
    """AUC-Loss of ``scores`` (logits, any shape) against ``targets`` (same shape; 1 positive, 0
    negative, -1 ignored), as a 0-dim tensor; ``group`` as in :func:`ap_loss`.

    Example:
        >>> import torch
        >>> from mmdet_losses.functional import auc_loss
        >>> scores = torch.tensor([2.0, 0.5, 1.0, -1.0], requires_grad=True)
        >>> loss = auc_loss(scores, torch.tensor([1, 0, 1, 0]))
        >>> loss.backward()
        >>> loss.item(), scores.grad.tolist()
        (0.0625, [-0.0, 0.0625, -0.0625, 0.0])
    """
    targets = integer_targets('auc_loss', targets)
    check_ranking_arguments('auc_loss', scores, targets, delta)
    return _AUCLoss.apply(scores, targets, float(delta), group)


class _AUCLoss(torch.autograd.Function):

    @staticmethod
    def forward(ctx, scores, targets, delta, group):
        positives = RankingPositives('auc_loss', scores, targets, delta, group, count_negatives=True)
        m, n = positives.sorted_scores.numel(), positives.negative_count
        if m == 0 or n == 0:
            ctx.save_for_backward(torch.zeros_like(scores))
            return scores.new_zeros(())
        pairs = m * n
        # W times the exact gradient under a group: DDP divides the summed gradients by W.
        weight = positives.world_size / pairs
        p = positives.sorted_scores
        grad = ops.negative_weight_sums(scores, targets, p, torch.full_like(p, weight), delta)
        fp = positives.false_positives
        grad.view(-1)[positives.local_index] = (-weight * fp[positives.local_positions]).to(grad.dtype)
        ctx.save_for_backward(grad)
        return (fp.sum() / pairs).to(scores.dtype)

    @staticmethod
    def backward(ctx, grad_loss):
        (grad,) = ctx.saved_tensors
        return grad * grad_loss, None, None, None
