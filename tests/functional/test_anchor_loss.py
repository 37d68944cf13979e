"""Anchor Loss against the paper's eqs. 1-4 and the paper's Figure 1 property."""
import pytest
import torch
import torch.nn.functional as F

from mmdet_losses.functional import anchor_loss


def logit(q):
    return torch.logit(torch.as_tensor(q, dtype=torch.float64))


def bce(logits, targets):
    return F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype), reduction='none')


def test_figure1_target_term_exceeds_bce_exactly_below_q_pos():
    """Mode 'pos': a target class scored below q_pos = 0.2 (the best negative class) costs more than
    BCE, above it less."""
    q = torch.linspace(0.01, 0.99, 99, dtype=torch.float64)
    logits = torch.stack([logit(q), logit(0.2).expand_as(q), logit(0.05).expand_as(q)], 1)
    targets = torch.tensor([1, 0, 0]).expand(len(q), 3)
    target_term = anchor_loss(logits, targets, gamma=0.5, slack=0.0, mode='pos')[:, 0]
    plain = bce(logits, targets)[:, 0]
    assert torch.equal(target_term > plain, q < 0.2)
    # The negative classes keep their BCE in this mode.
    torch.testing.assert_close(anchor_loss(logits, targets, 0.5, 0.0, 'pos')[:, 1:], bce(logits, targets)[:, 1:])


def test_figure1_background_term_exceeds_bce_exactly_above_q_neg():
    """Mode 'neg': a background class scored above q_neg = 0.8 (the target's score) costs more."""
    q = torch.linspace(0.01, 0.99, 99, dtype=torch.float64)
    logits = torch.stack([logit(0.8).expand_as(q), logit(q)], 1)
    targets = torch.tensor([1, 0]).expand(len(q), 2)
    background_term = anchor_loss(logits, targets, gamma=0.5, slack=0.0, mode='neg')[:, 1]
    plain = bce(logits, targets)[:, 1]
    assert torch.equal(background_term > plain, q > 0.8)
    torch.testing.assert_close(anchor_loss(logits, targets, 0.5, 0.0, 'neg')[:, 0], bce(logits, targets)[:, 0])


@pytest.mark.parametrize('mode', ['pos', 'neg', 'both'])
def test_each_mode_matches_paper_eqs_2_to_4(mode):
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(50, 6, generator=generator, dtype=torch.float64, requires_grad=True)
    labels = torch.randint(7, (50,), generator=generator)   # 6 = background
    targets = F.one_hot(labels, 7)[:, :6]
    gamma, slack = 0.7, 0.05
    loss = anchor_loss(logits, targets, gamma, slack, mode)

    q = logits.detach().sigmoid()
    t = targets.double()
    q_pos = ((q * (1 - t)).max(1, keepdim=True).values + slack).clamp(max=1)
    q_neg = ((q * t).sum(1, keepdim=True) - slack).clamp(min=0)   # background rows: 0
    g_t = gamma if mode in ('pos', 'both') else 0.0
    g_b = gamma if mode in ('neg', 'both') else 0.0
    expected = (-(1 - q + q_pos) ** g_t * t * torch.log(q)
                - (1 + q - q_neg) ** g_b * (1 - t) * torch.log(1 - q))
    torch.testing.assert_close(loss, expected, rtol=1e-12, atol=1e-12)

    # The anchors are constants: the gradient is the modulated BCE gradient.
    (grad,) = torch.autograd.grad(loss.sum(), logits)
    expected_grad = -(1 - q + q_pos) ** g_t * t * (1 - q) + (1 + q - q_neg) ** g_b * (1 - t) * q
    torch.testing.assert_close(grad, expected_grad, rtol=1e-12, atol=1e-12)


def test_gamma_zero_is_bce_and_extreme_logits_stay_finite():
    logits = torch.tensor([[60.0, -60.0, 0.0], [-80.0, 80.0, 3.0]], requires_grad=True)
    targets = torch.tensor([[0, 1, 0], [0, 0, 0]])
    torch.testing.assert_close(anchor_loss(logits, targets, gamma=0.0), bce(logits, targets))
    loss = anchor_loss(logits, targets, mode='both')
    loss.sum().backward()
    assert torch.isfinite(loss).all() and torch.isfinite(logits.grad).all()
    assert loss[0, 0] > 50 and loss[1, 1] > 70, 'log terms from logits, not clamped probabilities'


def test_bad_arguments():
    logits, targets = torch.zeros(2, 3), torch.zeros(2, 3)
    with pytest.raises(ValueError, match="mode must be one of .* got 'all'"):
        anchor_loss(logits, targets, mode='all')
    with pytest.raises(ValueError, match='gamma must be >= 0, got -1'):
        anchor_loss(logits, targets, gamma=-1)
    with pytest.raises(ValueError, match='slack must be in'):
        anchor_loss(logits, targets, slack=1.5)
    with pytest.raises(ValueError, match='one-hot or all zero'):
        anchor_loss(logits, torch.ones(2, 3))
    with pytest.raises(ValueError, match='shape'):
        anchor_loss(logits, torch.zeros(2, 4))
