"""aLRP Loss against its per-positive loop (the authors' algorithm, Oksuz et al., NeurIPS 2020), a
hand-computed case and the paper's properties."""
import pytest
import torch

from mmdet_losses.functional import alrp_loss, alrp_loss_reference


def problem(seed, n=500, grid=None, positive_rate=0.06, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    scores = torch.randn(n, generator=generator, dtype=torch.float64) * 1.5
    if grid is not None:
        scores = (scores / grid).round() * grid  # ties and window edges
    u = torch.rand(n, generator=generator)
    targets = torch.zeros(n, dtype=torch.int64)
    targets[u < positive_rate] = 1
    targets[(u >= positive_rate) & (u < positive_rate + 0.05)] = -1
    errors = torch.rand(int((targets == 1).sum()), generator=generator, dtype=torch.float64)
    return scores.to(dtype), targets, errors.to(dtype)


def values_and_gradients(fn, scores, targets, errors, **kwargs):
    scores = scores.clone().requires_grad_()
    errors = errors.clone().requires_grad_()
    classification, localisation = fn(scores, targets, errors, **kwargs)
    score_grad, = torch.autograd.grad(classification, scores, retain_graph=True)
    error_grad, = torch.autograd.grad(localisation, errors)
    return classification.detach(), localisation.detach(), score_grad, error_grad


@pytest.mark.parametrize('case', ['random', 'ties', 'one_positive', 'nothing_above', 'float32', 'delta'])
def test_equals_the_per_positive_loop(case):
    kwargs, grid, dtype = {}, None, torch.float64
    if case == 'ties':
        grid = 0.25
    if case == 'float32':
        dtype = torch.float32
    if case == 'delta':
        kwargs = dict(delta=0.3)
    scores, targets, errors = problem(len(case), grid=grid, dtype=dtype)
    if case == 'one_positive':
        targets[targets == 1] = 0
        targets[7] = 1
        errors = errors[:1]
    if case == 'nothing_above':
        # Every positive at least delta above every negative: no update at all, error-free ranking.
        scores = torch.where(targets == 1, scores.abs() + 10, -scores.abs())
    got = values_and_gradients(alrp_loss, scores, targets, errors, **kwargs)
    wanted = values_and_gradients(alrp_loss_reference, scores, targets, errors, **kwargs)
    pruned = values_and_gradients(alrp_loss_reference, scores, targets, errors, prune=True, **kwargs)
    tolerance = dict(rtol=1e-5, atol=1e-7) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-13)
    for name, value, reference, reference_pruned in zip(('classification', 'localisation', 'score update',
                                                         'error gradient'), got, wanted, pruned):
        torch.testing.assert_close(value, reference, msg=f'{case}: {name}', **tolerance)
        torch.testing.assert_close(reference_pruned, reference, msg=f'{case}: {name} (pruned)', **tolerance)
    classification, localisation, score_grad, error_grad = got
    assert localisation > 0 and (error_grad > 0).all()
    if case == 'nothing_above':
        assert classification == 0 and not score_grad.any()
    else:
        assert classification > 0
        # The paper's balance: the positives' updates and the negatives' cancel.
        assert abs(score_grad.sum().item()) < 1e-6 * score_grad.abs().sum().item()
        assert not score_grad[targets == -1].any()


def test_a_hand_computed_case():
    """Scores (2.0 +, 0.5 -, 1.0 +, -1.0 -), errors (0.2, 0.6), delta 1: the positive at 2.0 ranks
    first alone (rank 1); the one at 1.0 has the other above it (H = 1) and the negative at 0.5
    at H(-0.5) = 0.25: rank 2.25."""
    scores = torch.tensor([2.0, 0.5, 1.0, -1.0], dtype=torch.float64, requires_grad=True)
    errors = torch.tensor([0.2, 0.6], dtype=torch.float64, requires_grad=True)
    classification, localisation = alrp_loss(scores, torch.tensor([1, 0, 1, 0]), errors)
    assert classification.item() == pytest.approx(1 - (1 + 2 / 2.25) / 2)
    assert localisation.item() == pytest.approx((0.2 / 1 + 0.8 / 2.25) / 2)
    (classification + localisation).backward()
    # Positive at 1.0: -(H * e of the one above + fp) / rank / |P|, all of it to the negative at 0.5.
    update = (1 * 0.2 + 0.25) / 2.25 / 2
    torch.testing.assert_close(scores.grad, torch.tensor([0.0, update, -update, 0.0], dtype=torch.float64))
    torch.testing.assert_close(errors.grad, torch.tensor([(1 + 1 / 2.25) / 2, 1 / 2.25 / 2], dtype=torch.float64))


def test_without_positives_both_are_zero():
    scores = torch.randn(20, requires_grad=True)
    errors = torch.zeros(0, requires_grad=True)
    classification, localisation = alrp_loss(scores, torch.zeros(20, dtype=torch.long), errors)
    assert classification.item() == 0 and localisation.item() == 0
    (classification + localisation).backward()
    assert not scores.grad.any()


def test_any_shape_and_half_precision():
    scores, targets, errors = problem(3, n=600)
    reference = alrp_loss(scores, targets, errors)
    shaped = alrp_loss(scores.reshape(4, 30, 5), targets.reshape(4, 30, 5), errors)
    for value, expected in zip(shaped, reference):
        torch.testing.assert_close(value, expected)
    for dtype in (torch.float16, torch.bfloat16):
        low = alrp_loss(scores.to(dtype), targets, errors.to(dtype))
        assert all(value.dtype == dtype for value in low)
        for value, expected in zip(low, reference):
            torch.testing.assert_close(value.double(), expected, rtol=0.02, atol=0.01)


def test_bad_inputs_name_the_argument_and_value():
    scores, targets, errors = problem(4, n=100)
    with pytest.raises(ValueError, match=rf'alrp_loss: box_errors must have one value per positive, shape '
                                         rf'\({len(errors)},\), got \({len(errors) - 1},\)'):
        alrp_loss(scores, targets, errors[1:])
    broken = errors.clone()
    broken[2] = float('inf')
    with pytest.raises(ValueError, match='alrp_loss: box_errors must be finite, got inf at index 2'):
        alrp_loss(scores, targets, broken)
    with pytest.raises(ValueError, match='alrp_loss: box_errors must be a floating-point tensor'):
        alrp_loss(scores, targets, (errors * 10).long())
    bad = targets.clone()
    bad[5] = 2
    with pytest.raises(ValueError, match=r'alrp_loss: targets must be 1 \(positive\), 0 \(negative\) or -1 '
                                         r'\(ignored\), got 2 at flat index 5'):
        alrp_loss(scores, bad, errors)
    with pytest.raises(ValueError, match='alrp_loss: delta must be'):
        alrp_loss(scores, targets, errors, delta=0)
    nan_scores = scores.clone()
    nan_scores[9] = float('nan')
    with pytest.raises(ValueError, match='alrp_loss: scores must be finite, got nan at flat index 9'):
        alrp_loss(nan_scores, targets, errors)
