"""APLoss as mmdet builds and calls it."""
import pytest
import torch

pytest.importorskip('mmdet', reason='the mmdet modules need mmdet (the op tests do not)')

from mmdet.registry import MODELS  # noqa: E402

import mmdet_losses  # noqa: E402,F401  (registers the modules)
from mmdet_losses.functional import ap_loss  # noqa: E402


def test_built_from_config_and_called_with_mmdet_contract():
    loss_module = MODELS.build(dict(type='APLoss', use_sigmoid=True, delta=0.5, loss_weight=2.0))
    cls_score = torch.randn(6, 3, requires_grad=True)
    labels = torch.tensor([0, 3, 2, 3, 1, 3])  # 3 = background
    label_weights = torch.tensor([1.0, 1.0, 0.0, 1.0, 1.0, 1.0])  # anchor 2 ignored
    loss = loss_module(cls_score, labels, label_weights, avg_factor=4.0)
    expected_targets = torch.tensor([[1, 0, 0], [0, 0, 0], [-1, -1, -1],
                                     [0, 0, 0], [0, 1, 0], [0, 0, 0]])
    expected = 2.0 * ap_loss(cls_score, expected_targets, delta=0.5)
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert torch.count_nonzero(cls_score.grad[2]) == 0
    assert cls_score.grad[0, 0] < 0 and cls_score.grad[4, 1] < 0


def test_per_class_label_weights():
    loss_module = MODELS.build(dict(type='APLoss', use_sigmoid=True))
    cls_score = torch.randn(4, 2)
    labels = torch.tensor([0, 2, 1, 2])
    weights = torch.ones(4, 2)
    weights[1, 1] = 0
    expected = ap_loss(cls_score, torch.tensor([[1, 0], [0, -1], [0, 1], [0, 0]]))
    torch.testing.assert_close(loss_module(cls_score, labels, weights), expected)


def test_bad_configs_and_calls_are_refused():
    with pytest.raises(ValueError, match='use_sigmoid must be True'):
        MODELS.build(dict(type='APLoss', use_sigmoid=False))
    with pytest.raises(ValueError, match='delta must be > 0, got 0'):
        MODELS.build(dict(type='APLoss', use_sigmoid=True, delta=0))
    loss_module = MODELS.build(dict(type='APLoss', use_sigmoid=True))
    with pytest.raises(ValueError, match="reduction_override='none'"):
        loss_module(torch.randn(3, 2), torch.tensor([0, 1, 2]), reduction_override='none')
    with pytest.raises(ValueError, match=r'labels must have shape \(3,\)'):
        loss_module(torch.randn(3, 2), torch.tensor([0, 1]))


def test_trains_inside_the_stock_retina_head(retina_head_cfg, detection_batch):
    """As loss_cls of mmdet's RetinaHead: one value for the step, however many FPN levels."""
    head = MODELS.build(retina_head_cfg(loss_cls=dict(type='APLoss', use_sigmoid=True)))
    feats, samples = detection_batch([([[4.0, 4.0, 36.0, 40.0]], [1]),
                                      ([[10.0, 8.0, 30.0, 28.0], [32.0, 30.0, 60.0, 62.0]], [0, 2])])
    losses = head.loss(feats, samples)
    assert losses['loss_cls'].dim() == 0
    total = losses['loss_cls'] + sum(losses['loss_bbox'])
    assert torch.isfinite(total) and total > 0
    total.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in head.parameters())
