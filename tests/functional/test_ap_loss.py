"""ap_loss (the op) against ap_loss_reference (the per-positive loop), and the paper's properties."""
import pytest
import torch

from mmdet_losses.functional import ap_loss, ap_loss_reference


def random_problem(n, positive_rate=0.05, ignored_rate=0.05, grid=0.25, seed=0, dtype=torch.float64):
    """Scores on a coarse grid (many exact ties, window edges landing exactly on scores), targets
    with positives, negatives and ignored entries."""
    generator = torch.Generator().manual_seed(seed)
    scores = torch.randint(-16, 17, (n,), generator=generator).to(dtype) * grid
    u = torch.rand(n, generator=generator)
    targets = torch.zeros(n, dtype=torch.int64)
    targets[u < positive_rate] = 1
    targets[(u >= positive_rate) & (u < positive_rate + ignored_rate)] = -1
    return scores, targets


def loss_and_grad(fn, scores, targets, **kwargs):
    scores = scores.detach().clone().requires_grad_()
    loss = fn(scores, targets, **kwargs)
    loss.backward()
    return loss.detach(), scores.grad


def assert_matches(actual, expected, rtol):
    loss, grad = actual
    ref_loss, ref_grad = expected
    torch.testing.assert_close(loss, ref_loss, rtol=rtol, atol=rtol * max(ref_loss.abs().item(), 1e-3))
    torch.testing.assert_close(grad, ref_grad, rtol=rtol, atol=rtol * ref_grad.abs().max().item())


@pytest.mark.parametrize('interpolated', [True, False])
@pytest.mark.parametrize('delta', [0.25, 0.5, 1.0, 3.0])
@pytest.mark.parametrize('seed', [0, 1])
def test_matches_reference_fp64(interpolated, delta, seed):
    scores, targets = random_problem(6000, seed=seed)
    kwargs = dict(delta=delta, interpolated=interpolated)
    assert_matches(loss_and_grad(ap_loss, scores, targets, **kwargs),
                   loss_and_grad(ap_loss_reference, scores, targets, **kwargs), rtol=1e-9)


@pytest.mark.parametrize('interpolated', [True, False])
def test_matches_reference_fp64_continuous_scores(interpolated):
    generator = torch.Generator().manual_seed(3)
    scores = torch.randn(20000, generator=generator, dtype=torch.float64) * 2
    targets = (torch.rand(20000, generator=generator) < 0.02).long()
    targets[:50] = -1
    assert_matches(loss_and_grad(ap_loss, scores, targets, interpolated=interpolated),
                   loss_and_grad(ap_loss_reference, scores, targets, interpolated=interpolated),
                   rtol=1e-9)


@pytest.mark.parametrize('interpolated', [True, False])
def test_matches_reference_fp32(interpolated):
    scores, targets = random_problem(20000, positive_rate=0.02, grid=0.1, seed=4, dtype=torch.float32)
    scores = scores + 0.01 * torch.randn(scores.shape, generator=torch.Generator().manual_seed(5))
    assert_matches(loss_and_grad(ap_loss, scores, targets, interpolated=interpolated),
                   loss_and_grad(ap_loss_reference, scores, targets, interpolated=interpolated),
                   rtol=1e-5)


@pytest.mark.parametrize('layout', ['all_tied', 'crowd_and_outlier', 'tiny_span', 'large_offset'])
def test_matches_reference_for_awkward_positive_layouts(layout):
    """The op searches the positives through a grid of cells over their score range; these
    layouts give it a single cell, one crowded cell among empty ones, and extreme cell widths."""
    generator = torch.Generator().manual_seed(12)
    scores = torch.randn(4000, generator=generator, dtype=torch.float64)
    targets = torch.zeros(4000, dtype=torch.int64)
    positives = torch.randperm(4000, generator=generator)[:200]
    targets[positives] = 1
    if layout == 'all_tied':
        scores[positives] = 0.5
    elif layout == 'crowd_and_outlier':
        scores[positives] = 0.3 + 1e-3 * torch.rand(200, generator=generator, dtype=torch.float64)
        scores[positives[0]] = 50.0
    elif layout == 'tiny_span':
        scores[positives] = 1.0 + 1e-13 * torch.arange(200, dtype=torch.float64)
    else:
        scores = scores + 1e5
    assert_matches(loss_and_grad(ap_loss, scores, targets), loss_and_grad(ap_loss_reference, scores, targets),
                   rtol=1e-9)


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16, torch.float32])
def test_low_precision_scores_are_ranked_exactly(dtype):
    """The op reads each score in its own precision and accumulates in float64: its result is the
    float64 reference on the same values, rounded once to the output dtype."""
    scores, targets = random_problem(5000, seed=6, dtype=dtype)
    loss, grad = loss_and_grad(ap_loss, scores, targets)
    ref_loss, ref_grad = loss_and_grad(ap_loss_reference, scores.double(), targets)
    assert loss.dtype == grad.dtype == dtype
    assert torch.equal(loss, ref_loss.to(dtype))
    assert torch.equal(grad, ref_grad.to(dtype))


@pytest.mark.parametrize('target_dtype', [torch.int8, torch.int16, torch.int32, torch.int64,
                                          torch.float32])
def test_target_dtypes(target_dtype):
    scores, targets = random_problem(2000, seed=7)
    expected = loss_and_grad(ap_loss, scores, targets)
    assert_matches(loss_and_grad(ap_loss, scores, targets.to(target_dtype)), expected, rtol=0)


def test_any_shape_and_non_contiguous_inputs():
    scores, targets = random_problem(4 * 300 * 5, seed=8)
    scores, targets = scores.view(4, 300, 5), targets.view(4, 300, 5)
    expected = loss_and_grad(ap_loss_reference, scores, targets)
    # Transposed views and a strided slice of a larger tensor.
    transposed = loss_and_grad(ap_loss, scores.transpose(0, 2), targets.transpose(0, 2))
    assert not scores.transpose(0, 2).is_contiguous()
    assert_matches((transposed[0], transposed[1].transpose(0, 2)), expected, rtol=1e-9)
    wide = torch.zeros(4, 300, 10, dtype=scores.dtype)
    wide[..., ::2] = scores
    wide = wide.detach().requires_grad_()
    loss = ap_loss(wide[..., ::2], targets)
    loss.backward()
    assert_matches((loss.detach(), wide.grad[..., ::2]), expected, rtol=1e-9)
    assert torch.count_nonzero(wide.grad[..., 1::2]) == 0


def test_single_positive():
    scores = torch.tensor([0.3, 1.0, -0.5, 0.9, 2.0], dtype=torch.float64)
    targets = torch.tensor([0, 1, 0, -1, 0])
    loss, grad = loss_and_grad(ap_loss, scores, targets)
    # H(0.3 - 1) = 0.15, H(-1.5) = 0, H(1.0) = 1: rank = 1 + 1.15, precision 1 / 2.15.
    assert loss.item() == pytest.approx(1 - 1 / 2.15, rel=1e-12)
    assert grad[1].item() == pytest.approx(-(1 - 1 / 2.15), rel=1e-12)
    assert grad[0].item() == pytest.approx(0.15 / 2.15, rel=1e-12)
    assert grad[2].item() == 0 and grad[3].item() == 0
    assert grad[4].item() == pytest.approx(1 / 2.15, rel=1e-12)
    assert_matches((loss, grad), loss_and_grad(ap_loss_reference, scores, targets), rtol=1e-12)


@pytest.mark.parametrize('fn', [ap_loss, ap_loss_reference])
@pytest.mark.parametrize('targets', [torch.zeros(50, dtype=torch.long),
                                     torch.full((50,), -1, dtype=torch.long),
                                     torch.zeros(0, dtype=torch.long)])
def test_no_positive_gives_zero_loss_and_gradient(fn, targets):
    scores = torch.randn(targets.shape, dtype=torch.float64)
    loss, grad = loss_and_grad(fn, scores, targets)
    assert loss.item() == 0.0
    assert torch.count_nonzero(grad) == 0 and not torch.isnan(grad).any()


def test_no_negative_ranks_positives_perfectly():
    scores = torch.tensor([0.0, 5.0, -2.0, 1.0])
    targets = torch.tensor([1, 1, -1, 1])
    loss, grad = loss_and_grad(ap_loss, scores, targets)
    assert loss.item() == 0.0
    assert torch.count_nonzero(grad) == 0


def test_incoming_gradient_scales_the_update():
    scores, targets = random_problem(3000, seed=9)
    _, grad = loss_and_grad(ap_loss, scores, targets)
    weighted = scores.clone().requires_grad_()
    (2.5 * ap_loss(weighted, targets)).backward()
    torch.testing.assert_close(weighted.grad, 2.5 * grad, rtol=1e-12, atol=0)


def test_error_driven_gradient_balances():
    """The update pushes positives up exactly as much as it pushes negatives down:
    sum over negatives of g_j = sum over positives of (1 - iprec(i)) / |P|."""
    scores, targets = random_problem(8000, seed=10)
    _, grad = loss_and_grad(ap_loss, scores, targets)
    assert grad[targets == 0].min() >= 0 and grad[targets == 1].max() <= 0
    assert grad.sum().item() == pytest.approx(0.0, abs=1e-12)
    assert torch.count_nonzero(grad[targets == -1]) == 0


def test_result_does_not_depend_on_thread_count():
    scores, targets = random_problem(300_000, seed=11)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = loss_and_grad(ap_loss, scores, targets)
        torch.set_num_threads(max(threads, 2))
        many = loss_and_grad(ap_loss, scores, targets)
    finally:
        torch.set_num_threads(threads)
    assert_matches(many, one, rtol=1e-12)


@pytest.mark.parametrize('fn', [ap_loss, ap_loss_reference])
def test_bad_inputs_raise_clear_errors(fn):
    scores = torch.zeros(4)
    with pytest.raises(ValueError, match=r'same shape.*\(4,\).*\(5,\)|same shape.*\[4\].*\[5\]'):
        fn(scores, torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match=r'targets must be 1 \(positive\), 0 \(negative\) or -1 '
                                         r'\(ignored\), got 2 at flat index 3'):
        fn(scores, torch.tensor([0, 1, 0, 2]))
    with pytest.raises(ValueError, match='scores must be finite, got nan at flat index 2'):
        fn(torch.tensor([0.0, 1.0, float('nan'), 0.0]), torch.tensor([0, 1, 0, 0]))
    with pytest.raises(ValueError, match='scores must be finite, got -?inf at flat index 0'):
        fn(torch.tensor([float('-inf'), 1.0]), torch.tensor([-1, 1]))
    for delta in (0.0, -1.0, float('inf')):
        with pytest.raises(ValueError, match=f'delta must be a finite number > 0, got {delta:g}$'):
            fn(scores, torch.tensor([0, 1, 0, 0]), delta=delta)


def test_fractional_float_targets_are_refused():
    with pytest.raises(ValueError, match='targets must hold only'):
        ap_loss(torch.zeros(3), torch.tensor([0.0, 0.5, 1.0]))


def smoothed_ap_loss_paper_eq14(theta):
    t1, t2 = theta
    sig = torch.sigmoid
    return 0.5 * (sig(-t1) / (1 + sig(-t1) + sig(t2 - 4 * t1))
                  + sig(3 * t1 - t2) / (1 + sig(4 * t1 - t2) + sig(3 * t1 - t2)))


def test_paper_section2_smoothed_gradient_descent_stalls_near_one_sixth():
    theta = torch.tensor([2.0, 1.0], dtype=torch.float64, requires_grad=True)
    for _ in range(5000):
        (grad,) = torch.autograd.grad(smoothed_ap_loss_paper_eq14(theta), theta)
        with torch.no_grad():
            theta -= grad
    value = smoothed_ap_loss_paper_eq14(theta).item()
    assert theta[0] > theta[1] > 0
    assert abs(value - 1 / 6) < 1e-3


def test_paper_section2_error_driven_update_reaches_zero_in_finite_steps():
    """The paper's Proposition 1 on its example: samples (0, 0) negative, (1, 0) and (-3, 1)
    positive, linear model s = f1 th1 + f2 th2, started where smoothed descent stalls."""
    features = torch.tensor([[0.0, 0.0], [1.0, 0.0], [-3.0, 1.0]], dtype=torch.float64)
    targets = torch.tensor([0, 1, 1])
    theta = torch.tensor([2.0, 1.0], dtype=torch.float64, requires_grad=True)
    for step in range(100):
        loss = ap_loss(features @ theta, targets, delta=0.1)
        if loss.item() == 0.0:
            break
        (grad,) = torch.autograd.grad(loss, theta)
        with torch.no_grad():
            theta -= 0.1 * grad
    assert loss.item() == 0.0, f'AP-loss still {loss.item()} after {step + 1} steps'
    scores = features @ theta.detach()
    assert scores[1] > scores[0] and scores[2] > scores[0]


@pytest.mark.parametrize('interpolated', [True, False])
def test_reference_with_the_official_pruning_gives_the_same_result(interpolated):
    """The authors' code drops every negative below the lowest positive minus delta first."""
    scores, targets = random_problem(5000, seed=13)
    scores = scores - 3 * (targets == 0).double()  # many negatives far below every positive
    kwargs = dict(interpolated=interpolated, delta=0.5)
    assert_matches(loss_and_grad(ap_loss_reference, scores, targets, prune=True, **kwargs),
                   loss_and_grad(ap_loss_reference, scores, targets, **kwargs), rtol=1e-12)


@pytest.mark.cuda
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize('interpolated', [True, False])
def test_cuda_matches_the_reference(dtype, interpolated):
    scores, targets = random_problem(20_000, seed=3, dtype=dtype)
    # A loss weight other than 1: the incoming gradient scales the saved update on the device.
    actual = loss_and_grad(lambda s, t: 0.5 * ap_loss(s, t, interpolated=interpolated),
                           scores.cuda(), targets.cuda())
    expected = loss_and_grad(lambda s, t: 0.5 * ap_loss_reference(s, t, interpolated=interpolated),
                             scores.double(), targets)
    assert actual[0].device.type == 'cuda' and actual[1].dtype == dtype
    assert_matches((actual[0].cpu().double(), actual[1].cpu().double()), expected,
                   rtol=1e-12 if dtype == torch.float64 else 1e-2 if dtype != torch.float32 else 1e-5)
