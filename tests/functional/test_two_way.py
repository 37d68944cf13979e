"""Two-way multi-label loss: the definition of Kobayashi (CVPR 2023), its eqs. (iii) and (v), empty sets."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmdet_losses.functional import two_way_loss


def term(x_pos, x_neg, T_pos, T_neg):
    """l(P, N) for python lists, written out."""
    if not x_pos or not x_neg:
        return 0.0
    z = (T_neg * math.log(sum(math.exp(x / T_neg) for x in x_neg))
         + T_pos * math.log(sum(math.exp(-x / T_pos) for x in x_pos)))
    return math.log1p(math.exp(z))


def reference(logits, targets, T_pos, T_neg):
    x, t = logits.tolist(), targets.tolist()
    rows = [(r, [x[r][c] for c in range(len(t[r])) if t[r][c] == 1],
             [x[r][c] for c in range(len(t[r])) if t[r][c] == 0]) for r in range(len(t))]
    cols = [(c, [x[r][c] for r in range(len(t)) if t[r][c] == 1],
             [x[r][c] for r in range(len(t)) if t[r][c] == 0]) for c in range(len(t[0]))]
    total = 0.0
    for lines in (rows, cols):
        with_positive = [(p, n) for _, p, n in lines if p]
        if with_positive:
            total += sum(term(p, n, T_pos, T_neg) for p, n in with_positive) / len(with_positive)
    return total


@pytest.mark.parametrize('T_pos, T_neg', [(4.0, 1.0), (1.0, 1.0), (2.5, 0.5)])
def test_equals_the_written_out_definition(T_pos, T_neg):
    generator = torch.Generator().manual_seed(0)
    logits = 3 * torch.randn(12, 7, generator=generator, dtype=torch.float64)
    targets = torch.randint(-1, 2, (12, 7), generator=generator)
    targets[0] = 1          # a row without negatives
    targets[1] = 0          # a row without positives
    targets[:, 2] = -1      # an ignored class
    expected = reference(logits, targets, T_pos, T_neg)
    torch.testing.assert_close(two_way_loss(logits, targets, T_pos, T_neg).item(), expected,
                               rtol=1e-12, atol=1e-12)


def test_invariant_to_a_constant_added_to_every_logit():
    """The paper's eq. (iii) with eps_P = eps_N."""
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(20, 5, generator=generator, dtype=torch.float64)
    targets = torch.randint(0, 2, (20, 5), generator=generator)
    base = two_way_loss(logits, targets)
    for shift in (-7.0, 0.3, 12.0):
        torch.testing.assert_close(two_way_loss(logits + shift, targets), base, rtol=1e-12, atol=1e-12)


def test_separate_shifts_act_as_one_margin():
    """Paper eq. (iii): shifting positives by eps_P and negatives by eps_N adds eps_N - eps_P inside
    the softplus. Two identical rows: no column has both a positive and a negative, so only the
    sample-wise term remains."""
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(6, generator=generator, dtype=torch.float64)
    positive = torch.tensor([1, 0, 0, 1, 0, 0], dtype=torch.bool)
    eps_pos, eps_neg = 0.4, 1.1
    shift = torch.full_like(x, eps_neg).masked_fill(positive, eps_pos)
    shifted = torch.stack([x + shift] * 2)
    z = torch.logsumexp(x[~positive], 0) + 4.0 * torch.logsumexp(-x[positive] / 4.0, 0)
    torch.testing.assert_close(two_way_loss(shifted, positive.long().expand(2, 6)),
                               F.softplus(z + eps_neg - eps_pos), rtol=1e-12, atol=1e-12)


def test_gradient_of_a_positive_matches_paper_eq_v():
    """One sample, T_N = 1, T_P = T: the sample-wise gradient for a positive logit is
    -sigmoid(logsumexp_N x + T logsumexp_P(-x / T)) * softmax_P(-x / T)."""
    T = 4.0
    generator = torch.Generator().manual_seed(2)
    x = torch.randn(9, generator=generator, dtype=torch.float64)
    positive = torch.tensor([1, 1, 0, 0, 1, 0, 0, 0, 1], dtype=torch.bool)
    # Two identical rows: their class-wise terms have no negative and vanish; the sample-wise
    # term is the mean of two equal rows.
    logits = torch.stack([x, x]).requires_grad_()
    targets = positive.long().expand(2, 9)
    (grad,) = torch.autograd.grad(two_way_loss(logits, targets, T_pos=T, T_neg=1.0), logits)
    z = torch.logsumexp(x[~positive], 0) + T * torch.logsumexp(-x[positive] / T, 0)
    expected = -torch.sigmoid(z) * torch.softmax(-x[positive] / T, 0)
    torch.testing.assert_close(grad.sum(0)[positive], expected, rtol=1e-12, atol=1e-12)
    expected_negative = torch.sigmoid(z) * torch.softmax(x[~positive], 0)
    torch.testing.assert_close(grad.sum(0)[~positive], expected_negative, rtol=1e-12, atol=1e-12)


def test_empty_sets_are_exact_and_never_nan():
    logits = torch.randn(4, 3, requires_grad=True)
    for targets in (torch.zeros(4, 3), -torch.ones(4, 3), torch.ones(4, 3)):
        loss = two_way_loss(logits, targets)
        assert loss.item() == 0.0
        (grad,) = torch.autograd.grad(loss, logits)
        assert torch.equal(grad, torch.zeros_like(grad))
    big = torch.tensor([[300.0, -300.0], [-300.0, 300.0]], requires_grad=True)
    loss = two_way_loss(big, torch.tensor([[0, 1], [1, -1]]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(big.grad).all() and loss > 100


def test_bad_arguments():
    with pytest.raises(ValueError, match='shape'):
        two_way_loss(torch.zeros(2, 3), torch.zeros(3, 2))
    with pytest.raises(ValueError, match='T_pos and T_neg must be > 0, got 0 and 1'):
        two_way_loss(torch.zeros(2, 3), torch.zeros(2, 3), T_pos=0, T_neg=1)
    with pytest.raises(ValueError, match=r'targets must be in \(-1, 0, 1\) \(1 positive, 0 negative, -1 ignored\), got 2'):
        two_way_loss(torch.zeros(2, 3), torch.full((2, 3), 2))
