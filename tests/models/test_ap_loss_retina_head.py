"""RetinaHead with a ranking loss: one ranking over every FPN level and image of the minibatch;
APLossRetinaHead, the name older configs use, is the same head."""
import copy

import pytest
import torch

pytest.importorskip('mmdet', reason='the mmdet modules need mmdet (the op tests do not)')

from mmdet.registry import MODELS  # noqa: E402

import mmdet_losses  # noqa: E402,F401  (registers the modules)

TWO_IMAGES = [([[4.0, 4.0, 36.0, 40.0]], [1]),
              ([[10.0, 8.0, 30.0, 28.0], [32.0, 30.0, 60.0, 62.0]], [0, 2])]


def total(losses):
    return sum(sum(value) if isinstance(value, list) else value for value in losses.values())


@pytest.mark.parametrize('loss_cls', [dict(type='APLoss', use_sigmoid=True),
                                      dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25)])
def test_the_old_name_is_the_stock_head(retina_head_cfg, detection_batch, loss_cls):
    stock = MODELS.build(retina_head_cfg(loss_cls=loss_cls))
    alias = MODELS.build(retina_head_cfg(type='APLossRetinaHead', loss_cls=loss_cls))
    alias.load_state_dict(stock.state_dict())
    feats, samples = detection_batch(TWO_IMAGES)
    expected = stock.loss(feats, samples)
    actual = alias.loss(feats, copy.deepcopy(samples))
    assert actual.keys() == expected.keys()
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name])


@pytest.mark.parametrize('head_type', ['RetinaHead', 'APLossRetinaHead'])
def test_ap_loss_ranks_all_levels_and_images_together(retina_head_cfg, detection_batch,
                                                       one_ranking_reference, head_type):
    head = MODELS.build(retina_head_cfg(type=head_type,
                                        loss_cls=dict(type='APLoss', use_sigmoid=True)))
    feats, samples = detection_batch(TWO_IMAGES)
    cls_scores, bbox_preds = head(feats)
    losses = head.loss_by_feat(cls_scores, bbox_preds, [s.gt_instances for s in samples],
                               [s.metainfo for s in samples])
    expected = one_ranking_reference(head, cls_scores, samples)
    torch.testing.assert_close(losses['loss_cls'], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('num_classes', [1, 5])
def test_any_number_of_classes_and_images_without_objects(retina_head_cfg, detection_batch, num_classes):
    head = MODELS.build(retina_head_cfg(type='APLossRetinaHead', num_classes=num_classes,
                                        loss_cls=dict(type='APLoss', use_sigmoid=True)))
    feats, samples = detection_batch([([[4.0, 4.0, 36.0, 40.0]], [num_classes - 1]), ([], [])])
    losses = head.loss(feats, samples)
    total = losses['loss_cls'] + sum(losses['loss_bbox'])
    assert torch.isfinite(total) and losses['loss_cls'] > 0
    total.backward()
    assert all(torch.isfinite(p.grad).all() for p in head.parameters())


def test_minibatch_without_any_positive(retina_head_cfg, detection_batch):
    head = MODELS.build(retina_head_cfg(type='APLossRetinaHead',
                                        loss_cls=dict(type='APLoss', use_sigmoid=True)))
    feats, samples = detection_batch([([], []), ([], [])])
    losses = head.loss(feats, samples)
    assert losses['loss_cls'].item() == 0.0 and sum(losses['loss_bbox']).item() == 0.0
    total(losses).backward()
    assert all(p.grad is None or (torch.isfinite(p.grad).all() and not p.grad.any())
               for p in head.parameters())
