"""AUC-Loss against a loop over every (positive, negative) pair."""
import pytest
import torch

from mmdet_losses.functional import auc_loss


def pairwise_loop(scores, targets, delta):
    """The loss and error-driven update written pair by pair."""
    s, t = scores.detach().reshape(-1).double(), targets.reshape(-1)
    positives, negatives = (t == 1).nonzero().squeeze(1).tolist(), (t == 0).nonzero().squeeze(1).tolist()
    grad = torch.zeros_like(s)
    if not positives or not negatives:
        return s.new_zeros(()), grad.view_as(scores)
    pairs = len(positives) * len(negatives)
    loss = s.new_zeros(())
    for i in positives:
        for j in negatives:
            h = torch.clamp((s[j] - s[i]) / (2 * delta) + 0.5, 0, 1)
            loss += h / pairs
            grad[j] += h / pairs
            grad[i] -= h / pairs
    return loss, grad.view_as(scores)


@pytest.mark.parametrize('delta', [0.25, 1.0, 2.5])
@pytest.mark.parametrize('grid', [None, 0.25])
def test_matches_the_pairwise_loop(delta, grid):
    generator = torch.Generator().manual_seed(int(delta * 8))
    scores = torch.randn(300, generator=generator, dtype=torch.float64) * 2
    if grid is not None:
        scores = (scores / grid).round() * grid  # ties, window edges on scores
    targets = torch.randint(-1, 2, (300,), generator=generator)
    targets[torch.rand(300, generator=generator) < 0.7] = 0
    scores.requires_grad_()
    loss = auc_loss(scores, targets, delta)
    loss.backward()
    expected_loss, expected_grad = pairwise_loop(scores, targets, delta)
    torch.testing.assert_close(loss, expected_loss, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(scores.grad, expected_grad, rtol=1e-12, atol=1e-14)
    assert torch.count_nonzero(scores.grad[targets == -1]) == 0


@pytest.mark.parametrize('targets', [[1, 1, -1], [0, 0, -1], [-1, -1, -1], []])
def test_no_pair_gives_zero(targets):
    targets = torch.tensor(targets, dtype=torch.long)
    scores = torch.randn(targets.shape, requires_grad=True)
    loss = auc_loss(scores, targets)
    loss.backward()
    assert loss.item() == 0.0 and torch.count_nonzero(scores.grad) == 0


def test_half_precision_and_scaling():
    generator = torch.Generator().manual_seed(1)
    scores = torch.randn(4, 500, generator=generator)
    targets = (torch.rand(4, 500, generator=generator) < 0.05).long()
    reference = auc_loss(scores.double(), targets)
    for dtype in (torch.float16, torch.bfloat16, torch.float32):
        low = scores.to(dtype).requires_grad_()
        (3.0 * auc_loss(low, targets)).backward()
        assert torch.isfinite(low.grad).all()
        torch.testing.assert_close(auc_loss(low.detach(), targets).double(), reference, rtol=0.02, atol=0.01)


def test_bad_inputs():
    with pytest.raises(ValueError, match=r'same shape, got scores \(3,\) and targets \(4,\)'):
        auc_loss(torch.zeros(3), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match='delta must be a finite number > 0, got 0'):
        auc_loss(torch.zeros(3), torch.zeros(3, dtype=torch.long), delta=0)
    with pytest.raises(ValueError, match='auc_loss: scores must be finite, got nan at flat index 1'):
        auc_loss(torch.tensor([0.0, float('nan'), 1.0]), torch.tensor([1, 0, 0]))
    with pytest.raises(ValueError, match='auc_loss: scores must be finite, got inf at flat index 0'):
        auc_loss(torch.tensor([float('inf'), 0.0, 1.0]), torch.tensor([1, 0, 0]))
    with pytest.raises(ValueError, match='got 3 at flat index 2'):
        auc_loss(torch.zeros(3), torch.tensor([1, 0, 3]))


@pytest.mark.cuda
@pytest.mark.parametrize('grid', [None, 0.25])
def test_cuda_matches_the_pairwise_loop(grid):
    generator = torch.Generator().manual_seed(5)
    scores = torch.randn(300, generator=generator, dtype=torch.float64) * 2
    if grid is not None:
        scores = (scores / grid).round() * grid
    targets = torch.randint(-1, 2, (300,), generator=generator)
    cuda_scores = scores.cuda().requires_grad_()
    loss = auc_loss(cuda_scores, targets.cuda(), 0.5)
    (2.0 * loss).backward()
    expected_loss, expected_grad = pairwise_loop(scores, targets, 0.5)
    torch.testing.assert_close(loss.cpu(), expected_loss, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(cuda_scores.grad.cpu(), 2.0 * expected_grad, rtol=1e-12, atol=1e-14)
