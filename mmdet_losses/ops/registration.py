"""What PyTorch needs of the ranking ops beyond their kernels: fake (meta) kernels for tracing and
torch.compile, and the autograd formulas of ``ap_rank`` and ``rank_sort``, which hand back the saved
error-driven updates.
Imported by :func:`~mmdet_losses.ops.extension.load_extension` once the library has defined the ops."""
import torch


def _check_same_shape(op, scores, targets):
    torch._check(scores.shape == targets.shape,
                 lambda: f'{op}: scores and targets must have the same shape, got '
                         f'{tuple(scores.shape)} and {tuple(targets.shape)}')


@torch.library.register_fake('mmdet_losses::ap_rank')
def _ap_rank_fake(scores, targets, delta, interpolated):
    _check_same_shape('ap_rank', scores, targets)
    return scores.new_empty(()), torch.empty_like(scores, memory_format=torch.contiguous_format)


def _setup_context(ctx, inputs, output):
    loss, grad = output
    ctx.mark_non_differentiable(grad)
    # Nothing flows back through grad: without this, autograd fills an N-sized tensor of zeros as
    # its incoming gradient on every backward.
    ctx.set_materialize_grads(False)
    ctx.save_for_backward(grad)


def _is_one(grad_loss):
    """Whether an incoming gradient is exactly 1 (loss.backward() on the unweighted loss): then the
    saved update is the gradient, with no pass over the N entries. Only an eager CPU tensor is looked
    at: on CUDA the check would cost a synchronisation, and a traced one (torch.compile, opcheck) has
    no value to look at."""
    return type(grad_loss) is torch.Tensor and grad_loss.device.type == 'cpu' and grad_loss.item() == 1.0


def _backward(ctx, grad_loss, grad_of_grad):
    # AP-Loss is trained with the paper's error-driven update, not the derivative of the step
    # function: the kernel already computed it, so backward only scales it.
    (grad,) = ctx.saved_tensors
    if _is_one(grad_loss):
        return grad, None, None, None
    return grad * grad_loss, None, None, None


torch.library.register_autograd('mmdet_losses::ap_rank', _backward, setup_context=_setup_context)


@torch.library.register_fake('mmdet_losses::false_positive_sums')
def _false_positive_sums_fake(scores, targets, sorted_positives, delta):
    _check_same_shape('false_positive_sums', scores, targets)
    return sorted_positives.new_empty(sorted_positives.shape, dtype=torch.float64)


@torch.library.register_fake('mmdet_losses::negative_weight_sums')
def _negative_weight_sums_fake(scores, targets, sorted_positives, weights, delta):
    _check_same_shape('negative_weight_sums', scores, targets)
    return torch.empty_like(scores, memory_format=torch.contiguous_format)


@torch.library.register_fake('mmdet_losses::rank_sort_negatives')
def _rank_sort_negatives_fake(scores, targets, sorted_positives, rank_pos, scale, delta):
    _check_same_shape('rank_sort_negatives', scores, targets)
    return (sorted_positives.new_empty(sorted_positives.shape, dtype=torch.float64),
            torch.empty_like(scores, memory_format=torch.contiguous_format))


@torch.library.register_fake('mmdet_losses::rank_sort_positives')
def _rank_sort_positives_fake(scores, values, delta):
    torch._check(scores.shape == values.shape,
                 lambda: f'rank_sort_positives: scores and values must have the same shape, got '
                         f'{tuple(scores.shape)} and {tuple(values.shape)}')
    return tuple(torch.empty_like(scores, memory_format=torch.contiguous_format) for _ in range(3))


@torch.library.register_fake('mmdet_losses::rank_sort')
def _rank_sort_fake(scores, targets, delta):
    _check_same_shape('rank_sort', scores, targets)
    positives = torch.library.get_ctx().new_dynamic_size()
    return (scores.new_empty(()), scores.new_empty(()), torch.empty_like(scores, memory_format=torch.contiguous_format),
            scores.new_empty((positives,), dtype=torch.int64), scores.new_empty((2, positives), dtype=torch.float64))


def _rank_sort_setup_context(ctx, inputs, output):
    _, _, grad, positive_index, positive_updates = output
    ctx.mark_non_differentiable(grad, positive_index, positive_updates)
    ctx.set_materialize_grads(False)
    ctx.save_for_backward(grad, positive_index, positive_updates)


def _rank_sort_backward(ctx, grad_ranking, grad_sorting, *grad_of_outputs):
    # The op's grad is the update of ranking + sorting; weighted apart, the two updates differ only
    # at the positives, whose parts the op keeps in float64.
    grad, positive_index, positive_updates = ctx.saved_tensors
    if _is_one(grad_ranking) and _is_one(grad_sorting):
        return grad, None, None
    weights = [grad.new_zeros(()) if weight is None else weight for weight in (grad_ranking, grad_sorting)]
    weighted = grad * weights[0]
    weighted.view(-1)[positive_index] = (positive_updates[0] * weights[0]
                                         + positive_updates[1] * weights[1]).to(weighted.dtype)
    return weighted, None, None


torch.library.register_autograd('mmdet_losses::rank_sort', _rank_sort_backward, setup_context=_rank_sort_setup_context)
