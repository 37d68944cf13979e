"""HarmonicIoULoss as mmdet builds and calls it."""
import pytest
import torch

pytest.importorskip('mmdet', reason='the mmdet modules need mmdet (the op tests do not)')

from mmdet.registry import MODELS  # noqa: E402

import mmdet_losses  # noqa: E402,F401  (registers the modules)
from mmdet_losses.functional import hiou_loss  # noqa: E402

PRED = torch.tensor([[0.0, 0.0, 4.0, 4.0], [0.0, 0.0, 4.0, 2.0], [2.0, 2.0, 6.0, 6.0]])
TARGET = torch.tensor([[0.0, 0.0, 4.0, 4.0]] * 3)


def test_mmdet_loss_contract():
    module = MODELS.build(dict(type='HarmonicIoULoss', gamma=0.5, loss_weight=2.0))
    per_box = hiou_loss(PRED, TARGET, gamma=0.5)
    weight = torch.tensor([1.0, 0.0, 1.0])
    torch.testing.assert_close(module(PRED, TARGET), 2.0 * per_box.mean())
    torch.testing.assert_close(module(PRED, TARGET, weight, avg_factor=4.0), 2.0 * (per_box * weight).sum() / 4.0)
    torch.testing.assert_close(module(PRED, TARGET, weight[:, None].expand(3, 4), avg_factor=4.0),
                               2.0 * (per_box * weight).sum() / 4.0)
    torch.testing.assert_close(module(PRED, TARGET, reduction_override='none'), 2.0 * per_box)
    with pytest.raises(ValueError, match=r'gamma must be in \(0, 1\], got 2'):
        MODELS.build(dict(type='HarmonicIoULoss', gamma=2))


def test_box_loss_of_a_retina_head_on_decoded_boxes(retina_head_cfg, detection_batch):
    head = MODELS.build(retina_head_cfg(reg_decoded_bbox=True,
                                        loss_bbox=dict(type='HarmonicIoULoss', gamma=0.8, loss_weight=2.0)))
    feats, samples = detection_batch([([[4.0, 4.0, 36.0, 40.0]], [1]), ([], [])])
    losses = head.loss(feats, samples)
    total = sum(losses['loss_cls']) + sum(losses['loss_bbox'])
    assert torch.isfinite(total) and sum(losses['loss_bbox']) > 0
    total.backward()
    assert all(torch.isfinite(p.grad).all() for p in head.parameters() if p.grad is not None)
