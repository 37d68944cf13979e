"""AnchorLoss, TwoWayLoss and UniLoss as mmdet classification losses: mmdet's labels, the loss
contract, and one training step of a RetinaNet head."""
import copy

import pytest
import torch
import torch.nn.functional as F

pytest.importorskip('mmdet', reason='the mmdet modules need mmdet (the op tests do not)')

from mmdet.registry import MODELS  # noqa: E402

import mmdet_losses  # noqa: E402,F401  (registers the modules)
from mmdet_losses.functional import anchor_loss, two_way_loss  # noqa: E402

TWO_IMAGES = [([[4.0, 4.0, 36.0, 40.0]], [1]),
              ([[10.0, 8.0, 30.0, 28.0], [32.0, 30.0, 60.0, 62.0]], [0, 2])]


def scores_and_labels(seed=0):
    generator = torch.Generator().manual_seed(seed)
    cls_score = torch.randn(30, 4, generator=generator, requires_grad=True)
    labels = torch.randint(5, (30,), generator=generator)   # 4 = background
    return cls_score, labels


def test_anchor_loss_module_follows_the_mmdet_loss_contract():
    cls_score, labels = scores_and_labels()
    weight = torch.rand(30, generator=torch.Generator().manual_seed(1))
    module = MODELS.build(dict(type='AnchorLoss', use_sigmoid=True, mode='both', gamma=0.5, loss_weight=2.0))
    elementwise = anchor_loss(cls_score, F.one_hot(labels, 5)[:, :4], 0.5, 0.05, 'both')
    torch.testing.assert_close(module(cls_score, labels, weight, reduction_override='none'),
                               2.0 * elementwise * weight[:, None])
    torch.testing.assert_close(module(cls_score, labels, weight, avg_factor=7.0),
                               2.0 * (elementwise * weight[:, None]).sum() / 7.0, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(module(cls_score, labels), 2.0 * elementwise.mean())
    with pytest.raises(ValueError, match=r'labels must be in \[0, 4\]'):
        module(cls_score, labels + 5)
    with pytest.raises(ValueError, match="mode must be one of .* got 'up'"):
        MODELS.build(dict(type='AnchorLoss', mode='up'))


def test_two_way_loss_module_uses_ranking_targets():
    cls_score, labels = scores_and_labels()
    label_weights = torch.ones(30)
    label_weights[:5] = 0
    targets = F.one_hot(labels, 5)[:, :4]
    targets[:5] = -1
    module = MODELS.build(dict(type='TwoWayLoss', use_sigmoid=True, T_pos=2.0, loss_weight=0.5))
    torch.testing.assert_close(module(cls_score, labels, label_weights, avg_factor=3.0),
                               0.5 * two_way_loss(cls_score, targets, 2.0, 1.0))
    with pytest.raises(ValueError, match="reduction_override='none'"):
        module(cls_score, labels, reduction_override='none')
    with pytest.raises(ValueError, match='use_sigmoid must be True'):
        MODELS.build(dict(type='TwoWayLoss', use_sigmoid=False))


def test_uniloss_module_is_minus_an_interpolated_ap():
    cls_score, labels = scores_and_labels()
    module = MODELS.build(dict(type='UniLoss', use_sigmoid=True, num_anchors=8))
    torch.manual_seed(0)
    loss = module(cls_score, labels)
    loss.backward()
    assert -1 <= loss.item() <= 0 and torch.isfinite(cls_score.grad).all()
    with pytest.raises(ValueError, match='num_anchors, max_positives and max_negatives must be >= 1'):
        MODELS.build(dict(type='UniLoss', num_anchors=0))


@pytest.mark.parametrize('head_type, loss_cls', [
    ('RetinaHead', dict(type='AnchorLoss', use_sigmoid=True)),
    ('RetinaHead', dict(type='TwoWayLoss', use_sigmoid=True)),
    ('RetinaHead', dict(type='UniLoss', use_sigmoid=True)),
], ids=['anchor_loss', 'two_way', 'uniloss'])
def test_a_retina_head_trains_one_step(retina_head_cfg, detection_batch, head_type, loss_cls):
    torch.manual_seed(0)
    head = MODELS.build(retina_head_cfg(type=head_type, loss_cls=loss_cls))
    feats, samples = detection_batch(TWO_IMAGES + [([], [])])
    optimizer = torch.optim.SGD(head.parameters(), lr=0.01)
    losses = head.loss(feats, copy.deepcopy(samples))
    # mmdet's per-level box losses; a ranking loss_cls is one ranking of all levels and images.
    assert isinstance(losses['loss_bbox'], list) and len(losses['loss_bbox']) == 2
    ranking = loss_cls['type'] != 'AnchorLoss'
    assert isinstance(losses['loss_cls'], torch.Tensor if ranking else list)
    total = sum(sum(value) if isinstance(value, list) else value for value in losses.values())
    assert torch.isfinite(total)
    optimizer.zero_grad()
    total.backward()
    assert all(torch.isfinite(p.grad).all() for p in head.parameters() if p.grad is not None)
    assert head.retina_cls.weight.grad.abs().sum() > 0
    optimizer.step()
