"""Harmonic loss and Harmonic IoU loss against the paper's closed-form gradients."""
import pytest
import torch

from mmdet_losses.functional import aligned_iou, harmonic_loss, hiou_loss


def random_points(n=500, seed=0):
    generator = torch.Generator().manual_seed(seed)
    p = (0.01 + 0.98 * torch.rand(n, generator=generator, dtype=torch.float64)).requires_grad_()
    t = (4 * torch.rand(n, generator=generator, dtype=torch.float64) - 2).requires_grad_()
    return p, t


def smooth_l1(t, beta=1.0):
    return torch.where(t.abs() < beta, 0.5 * t ** 2 / beta, t.abs() - 0.5 * beta)


def test_paper_eq5_regression_gradient_is_supervised_by_the_score():
    p, t = random_points()
    reg = smooth_l1(t)
    loss = harmonic_loss(-torch.log(p), reg)
    (grad_t,) = torch.autograd.grad(loss.sum(), t)
    (dreg_dt,) = torch.autograd.grad(smooth_l1(t).sum(), t)
    expected = (1 + p + torch.exp(-reg) * torch.log(p)) * dreg_dt
    torch.testing.assert_close(grad_t, expected.detach(), rtol=1e-12, atol=1e-12)


def test_paper_eq10_score_gradient():
    p, t = random_points(seed=1)
    reg = smooth_l1(t)
    loss = harmonic_loss(-torch.log(p), reg)
    (grad_p,) = torch.autograd.grad(loss.sum(), p)
    expected = reg - (1 + torch.exp(-reg)) / p
    torch.testing.assert_close(grad_p, expected.detach(), rtol=1e-12, atol=1e-12)


def test_detach_factors_changes_exactly_the_factor_gradients():
    generator = torch.Generator().manual_seed(2)
    c = torch.rand(200, generator=generator, dtype=torch.float64).requires_grad_()
    l = (3 * torch.rand(200, generator=generator, dtype=torch.float64)).requires_grad_()
    through = torch.autograd.grad(harmonic_loss(c, l).sum(), (c, l))
    stopped = torch.autograd.grad(harmonic_loss(c, l, detach_factors=True).sum(), (c, l))
    c, l = c.detach(), l.detach()
    torch.testing.assert_close(stopped[0], 1 + torch.exp(-l), rtol=1e-12, atol=0)
    torch.testing.assert_close(stopped[1], 1 + torch.exp(-c), rtol=1e-12, atol=0)
    torch.testing.assert_close(through[0], 1 + torch.exp(-l) - torch.exp(-c) * l, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(through[1], 1 + torch.exp(-c) - torch.exp(-l) * c, rtol=1e-12, atol=1e-15)
    # The values are the same either way.
    torch.testing.assert_close(harmonic_loss(c, l, detach_factors=True), harmonic_loss(c, l))


@pytest.mark.parametrize('gamma', [0.2, 0.5, 0.8, 1.0])
def test_paper_eq12_hiou_gradient_and_monotonicity(gamma):
    iou = torch.linspace(0, 1, 1001, dtype=torch.float64, requires_grad=True)
    loss = (1 + iou) ** gamma * (1 - iou)
    (grad,) = torch.autograd.grad(loss.sum(), iou)
    expected = (1 + iou) ** (gamma - 1) * ((gamma - 1) - (gamma + 1) * iou)
    torch.testing.assert_close(grad, expected.detach(), rtol=1e-12, atol=1e-12)
    assert (grad <= 0).all(), 'HIoU must fall as IoU rises on [0, 1] for gamma <= 1'


def test_hiou_loss_on_boxes():
    target = torch.tensor([[0.0, 0.0, 4.0, 4.0]] * 4, dtype=torch.float64)
    pred = torch.tensor([[0.0, 0.0, 4.0, 4.0], [0.0, 0.0, 4.0, 2.0], [2.0, 2.0, 6.0, 6.0],
                         [10.0, 10.0, 12.0, 12.0]], dtype=torch.float64)
    iou = torch.tensor([1.0, 0.5, 4 / 28, 0.0], dtype=torch.float64)
    torch.testing.assert_close(aligned_iou(pred, target), iou)
    torch.testing.assert_close(hiou_loss(pred, target, gamma=0.5), (1 + iou) ** 0.5 * (1 - iou))
    moving = pred.clone().requires_grad_()
    hiou_loss(moving, target).sum().backward()
    assert torch.isfinite(moving.grad).all()


@pytest.mark.parametrize('gamma', [0.0, -0.5, 1.5])
def test_bad_arguments(gamma):
    box = torch.zeros(1, 4)
    with pytest.raises(ValueError, match=f'gamma must be in \\(0, 1\\].*got {gamma}'):
        hiou_loss(box, box, gamma=gamma)
    with pytest.raises(ValueError, match='same shape'):
        harmonic_loss(torch.zeros(3), torch.zeros(2))
    with pytest.raises(ValueError, match=r'shape \(\.\.\., 4\)'):
        hiou_loss(torch.zeros(2, 3), torch.zeros(2, 3))
