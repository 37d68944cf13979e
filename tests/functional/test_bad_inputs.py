"""The same rule for every public function: bad input is a ValueError naming the argument and the
value; empty, all-ignored and low-precision input gives an exact, finite answer; never a crash, a
hang or a silent NaN."""
import pytest
import torch

from mmdet_losses.functional import (alrp_loss, alrp_loss_reference, anchor_loss, ap_loss, ap_loss_reference, auc_loss, harmonic_loss, hiou_loss,
                                     rank_sort_loss, rank_sort_loss_reference, two_way_loss, uniloss)


def one_hot_rows(n, c, generator):
    """(n, c) rows, each one-hot or all zero (background)."""
    labels = torch.randint(0, c + 1, (n,), generator=generator)
    return torch.nn.functional.one_hot(labels, c + 1)[:, :c]


def rows_with_quality(n, c, generator):
    """Rank & Sort targets: one-hot rows whose ones are sorting targets (IoUs) in (0.05, 1)."""
    return one_hot_rows(n, c, generator) * (0.05 + 0.95 * torch.rand(n, c, generator=generator))


def with_box_errors(alrp):
    """aLRP as a loss of (logits, targets): every positive's localisation error 0.5."""
    def loss(logits, targets):
        dtype = logits.dtype if logits.is_floating_point() else torch.float32
        return torch.stack(alrp(logits, targets, torch.full((int((targets == 1).sum()),), 0.5, dtype=dtype)))
    return loss


# name -> (loss of (logits, targets), targets of (n, c)); every loss takes (n, C) logits here.
LOSSES = {
    'ap_loss': (ap_loss, lambda n, c, g: one_hot_rows(n, c, g)),
    'ap_loss_reference': (ap_loss_reference, lambda n, c, g: one_hot_rows(n, c, g)),
    'auc_loss': (auc_loss, lambda n, c, g: one_hot_rows(n, c, g)),
    'two_way_loss': (two_way_loss, lambda n, c, g: one_hot_rows(n, c, g)),
    'uniloss': (lambda s, t: uniloss(s, t, 'detection_ap', generator=torch.Generator().manual_seed(0)),
                lambda n, c, g: one_hot_rows(n, c, g)),
    'anchor_loss': (anchor_loss, lambda n, c, g: one_hot_rows(n, c, g)),
    'rank_sort_loss': (lambda s, t: torch.stack(rank_sort_loss(s, t)), rows_with_quality),
    'rank_sort_loss_reference': (lambda s, t: torch.stack(rank_sort_loss_reference(s, t)), rows_with_quality),
    'alrp_loss': (with_box_errors(alrp_loss), lambda n, c, g: one_hot_rows(n, c, g)),
    'alrp_loss_reference': (with_box_errors(alrp_loss_reference), lambda n, c, g: one_hot_rows(n, c, g)),
}
# targets may be -1
IGNORING = ['ap_loss', 'ap_loss_reference', 'auc_loss', 'two_way_loss', 'uniloss', 'rank_sort_loss',
            'rank_sort_loss_reference', 'alrp_loss', 'alrp_loss_reference']


def inputs(name, n=12, c=4, dtype=torch.float32, seed=0):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, generator=generator).to(dtype).requires_grad_()
    targets = LOSSES[name][1](n, c, generator)
    if n:
        targets[0, 1] = 1  # at least one positive
        targets[0, 0] = 0
        targets[0, 2:] = 0
    return logits, targets


def total(value):
    return value.sum() if value.dim() else value


@pytest.mark.parametrize('name', LOSSES)
@pytest.mark.parametrize('bad', [float('nan'), float('inf'), float('-inf')])
def test_non_finite_logits_raise(name, bad):
    logits, targets = inputs(name)
    with torch.no_grad():
        logits[3, 2] = bad
    with pytest.raises(ValueError, match=rf'must be finite, got {bad} at flat index 14'):
        LOSSES[name][0](logits, targets)


@pytest.mark.parametrize('name', LOSSES)
def test_wrong_shape_dtype_and_target_values_raise(name):
    fn = LOSSES[name][0]
    logits, targets = inputs(name)
    with pytest.raises(ValueError, match=r'shape.*\(12, 4\).*\(12, 5\)|shape.*\[12, 4\].*\[12, 5\]'):
        fn(logits, torch.zeros(12, 5, dtype=torch.long))
    with pytest.raises(ValueError, match='floating-point'):
        fn(torch.zeros(12, 4, dtype=torch.long), targets)
    bad = targets.clone()
    bad[5, 3] = 2 if name != 'anchor_loss' else -1
    with pytest.raises(ValueError, match=f'targets.*got {bad[5, 3].item()} at flat index 23'):
        fn(logits, bad)


@pytest.mark.parametrize('name', LOSSES)
def test_empty_input_is_an_exact_zero(name):
    logits, targets = inputs(name, n=0)
    value = total(LOSSES[name][0](logits, targets))
    assert value.item() == 0.0
    value.backward()
    assert logits.grad is None or logits.grad.numel() == 0


@pytest.mark.parametrize('name', IGNORING)
def test_everything_ignored_is_an_exact_zero(name):
    logits, targets = inputs(name)
    value = total(LOSSES[name][0](logits, torch.full_like(targets, -1)))
    value.backward()
    assert value.item() == 0.0 and torch.count_nonzero(logits.grad) == 0


@pytest.mark.parametrize('name', LOSSES)
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_precision_is_finite_and_close_to_fp32(name, dtype):
    logits, targets = inputs(name, n=64, dtype=dtype)
    value = total(LOSSES[name][0](logits, targets))
    value.backward()
    assert value.dtype == dtype and torch.isfinite(value) and torch.isfinite(logits.grad).all()
    reference = total(LOSSES[name][0](logits.detach().float(), targets))
    torch.testing.assert_close(value.float(), reference, rtol=0.02, atol=0.02)


def test_harmonic_losses_follow_the_same_rule():
    c, l = torch.rand(5), torch.rand(5)
    boxes = torch.tensor([[0.0, 0.0, 2.0, 2.0]] * 5)
    for bad in (float('nan'), float('inf')):
        with pytest.raises(ValueError, match=f'harmonic_loss: reg_loss must be finite, got {bad} at flat index 2'):
            harmonic_loss(c, torch.tensor([0.0, 0.0, bad, 0.0, 0.0]))
        broken = boxes.clone()
        broken[1, 3] = bad
        with pytest.raises(ValueError, match=f'aligned_iou: target must be finite, got {bad} at flat index 7'):
            hiou_loss(boxes, broken)
    with pytest.raises(ValueError, match=r'same shape, got \(5,\) and \(4,\)'):
        harmonic_loss(c, l[:4])
    with pytest.raises(ValueError, match='pred must be a floating-point tensor, got torch.int64'):
        hiou_loss(boxes.long(), boxes)
    with pytest.raises(ValueError, match=r'shape \(\.\.\., 4\), got \(5, 3\)'):
        hiou_loss(boxes[:, :3], boxes[:, :3])
    assert harmonic_loss(torch.zeros(0), torch.zeros(0)).shape == (0,)
    assert hiou_loss(torch.zeros(0, 4), torch.zeros(0, 4)).shape == (0,)
    for dtype in (torch.float16, torch.bfloat16):
        value = harmonic_loss(c.to(dtype), l.to(dtype))
        assert value.dtype == dtype and torch.isfinite(value).all()
        torch.testing.assert_close(value.float(), harmonic_loss(c.to(dtype).float(), l.to(dtype).float()),
                                   rtol=0.02, atol=0.02)
        assert torch.isfinite(hiou_loss(boxes.to(dtype), boxes.to(dtype) + 0.5)).all()
