"""HarmonicRetinaHead: each positive anchor's summed class and box losses combined by the Harmonic
loss, negatives' plain classification loss, normalised by the number of positives."""
import copy

import pytest
import torch
import torch.nn.functional as F

pytest.importorskip('mmdet', reason='the mmdet modules need mmdet (the op tests do not)')

from mmdet.registry import MODELS  # noqa: E402

import mmdet_losses  # noqa: E402,F401  (registers the modules)

TWO_IMAGES = [([[4.0, 4.0, 36.0, 40.0]], [1]),
              ([[10.0, 8.0, 30.0, 28.0], [32.0, 30.0, 60.0, 62.0]], [0, 2])]
BOX_LOSSES = {
    'l1': dict(loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    'smooth_l1': dict(loss_bbox=dict(type='SmoothL1Loss', beta=0.11, loss_weight=1.0)),
    'giou': dict(reg_decoded_bbox=True, loss_bbox=dict(type='GIoULoss', loss_weight=2.0)),
    'hiou': dict(reg_decoded_bbox=True, loss_bbox=dict(type='HarmonicIoULoss', gamma=0.8, loss_weight=2.0)),
}


def build_pair(cfg):
    """The stock RetinaHead and HarmonicRetinaHead with identical weights."""
    stock = MODELS.build(cfg)
    ours = MODELS.build(dict(cfg, type='HarmonicRetinaHead'))
    ours.load_state_dict(stock.state_dict())
    return stock, ours


def focal(score, label, num_classes, gamma=2.0, alpha=0.25):
    """Sigmoid focal loss of each anchor summed over classes; label == num_classes is background."""
    target = F.one_hot(label, num_classes + 1)[:, :num_classes].to(score.dtype)
    p = score.sigmoid()
    positive_term = -alpha * (1 - p) ** gamma * F.logsigmoid(score)
    negative_term = -(1 - alpha) * p ** gamma * F.logsigmoid(-score)
    return (target * positive_term + (1 - target) * negative_term).sum(-1)


def harmonic_reference(head, cls_scores, bbox_preds, samples):
    """The head's loss computed anchor by anchor from mmdet's own targets, focal loss and L1 box loss
    written out here."""
    metas = [s.metainfo for s in samples]
    anchors, valid = head.get_anchors([s.shape[-2:] for s in cls_scores], metas,
                                     device=cls_scores[0].device)
    labels, label_weights, bbox_targets, _, avg_factor = head.get_targets(
        anchors, valid, [s.gt_instances for s in samples], metas)
    total = 0.0
    for level, (score, pred) in enumerate(zip(cls_scores, bbox_preds)):
        score = score.permute(0, 2, 3, 1).reshape(-1, head.num_classes)
        pred = pred.permute(0, 2, 3, 1).reshape(-1, 4)
        label = labels[level].reshape(-1)
        c = focal(score, label, head.num_classes) * label_weights[level].reshape(-1)
        l = (pred - bbox_targets[level].reshape(-1, 4)).abs().sum(-1)
        for i in range(len(label)):
            if label[i] < head.num_classes:
                total = total + (1 + torch.exp(-l[i])) * c[i] + (1 + torch.exp(-c[i])) * l[i]
            else:
                total = total + c[i]
    return total / avg_factor


def test_equals_the_anchor_by_anchor_reference(retina_head_cfg, detection_batch):
    head = MODELS.build(retina_head_cfg(type='HarmonicRetinaHead'))
    feats, samples = detection_batch(TWO_IMAGES)
    cls_scores, bbox_preds = head(feats)
    losses = head.loss_by_feat(cls_scores, bbox_preds, [s.gt_instances for s in samples],
                               [s.metainfo for s in samples])
    total = sum(losses['loss_cls']) + sum(losses['loss_bbox'])
    torch.testing.assert_close(total, harmonic_reference(head, cls_scores, bbox_preds, samples),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('box_loss', BOX_LOSSES, ids=list(BOX_LOSSES))
def test_any_box_loss_weighted_between_one_and_two_times_plain(retina_head_cfg, detection_batch, box_loss):
    """The regression part is sum((1 + exp(-c)) l) / num_pos: between the stock head's box loss and
    twice it, for deltas and for decoded boxes alike."""
    stock, ours = build_pair(retina_head_cfg(**BOX_LOSSES[box_loss]))
    feats, samples = detection_batch(TWO_IMAGES)
    plain = sum(stock.loss(feats, samples)['loss_bbox'])
    losses = ours.loss(feats, copy.deepcopy(samples))
    harmonic = sum(losses['loss_bbox'])
    assert plain > 0 and plain < harmonic < 2 * plain
    total = sum(losses['loss_cls']) + harmonic
    total.backward()
    assert all(torch.isfinite(p.grad).all() for p in ours.parameters())
    assert ours.retina_reg.weight.grad.abs().sum() > 0


def test_without_positives_it_is_the_plain_classification_loss(retina_head_cfg, detection_batch):
    stock, ours = build_pair(retina_head_cfg(**BOX_LOSSES['hiou']))
    feats, samples = detection_batch([([], []), ([], [])])
    expected = stock.loss(feats, samples)
    losses = ours.loss(feats, copy.deepcopy(samples))
    torch.testing.assert_close(sum(losses['loss_cls']), sum(expected['loss_cls']))
    assert sum(losses['loss_bbox']).item() == 0.0
    (sum(losses['loss_cls']) + sum(losses['loss_bbox'])).backward()
    assert all(torch.isfinite(p.grad).all() for p in ours.parameters())


def test_an_image_without_objects_in_the_batch(retina_head_cfg, detection_batch):
    head = MODELS.build(retina_head_cfg(type='HarmonicRetinaHead', **BOX_LOSSES['giou']))
    feats, samples = detection_batch([([[4.0, 4.0, 36.0, 40.0]], [2]), ([], [])])
    losses = head.loss(feats, samples)
    total = sum(losses['loss_cls']) + sum(losses['loss_bbox'])
    assert torch.isfinite(total) and sum(losses['loss_bbox']) > 0
    total.backward()
    assert all(torch.isfinite(p.grad).all() for p in head.parameters())


def test_detach_factors_keeps_the_value_and_changes_the_gradient(retina_head_cfg, detection_batch):
    through, detached = build_pair(retina_head_cfg(type='HarmonicRetinaHead'))
    detached.detach_factors = True
    feats, samples = detection_batch(TWO_IMAGES)
    grads = []
    for head in (through, detached):
        losses = head.loss(feats, copy.deepcopy(samples))
        total = sum(losses['loss_cls']) + sum(losses['loss_bbox'])
        grads.append((total.detach(), torch.autograd.grad(total, head.retina_reg.weight)[0]))
    torch.testing.assert_close(grads[0][0], grads[1][0])
    assert not torch.allclose(grads[0][1], grads[1][1])
