"""HarmonicSSDHead: softmax cross-entropy of the true class and the box loss of each positive
combined by the Harmonic loss; hard-negative mining kept for the negatives. ConfigurableSSDHead,
its base and the SSD baselines' head: SSDHead's loss, and prediction under mmdet 3.3."""
import copy

import pytest
import torch
import torch.nn.functional as F

pytest.importorskip('mmdet', reason='the mmdet modules need mmdet (the op tests do not)')

from mmdet.registry import MODELS  # noqa: E402

import mmdet_losses  # noqa: E402,F401  (registers the modules)

IMAGES = [([[4.0, 4.0, 36.0, 40.0]], [1]),
          ([[10.0, 8.0, 30.0, 28.0], [32.0, 30.0, 60.0, 62.0]], [0, 2])]
NEG_POS_RATIO = 3  # the fixture's train_cfg.neg_pos_ratio


def summed(losses, name):
    """mmdet's SSD heads return one loss per image (each of shape (1,) or ())."""
    return sum(loss.sum() for loss in losses[name])


def total(losses):
    return summed(losses, 'loss_cls') + summed(losses, 'loss_bbox')


def harmonic_reference(head, cls_scores, bbox_preds, samples):
    """The head's loss image by image from mmdet's own targets, with the mining and smooth L1
    (beta 1) written out here."""
    metas = [s.metainfo for s in samples]
    anchors, valid = head.get_anchors([s.shape[-2:] for s in cls_scores], metas,
                                      device=cls_scores[0].device)
    labels, label_weights, bbox_targets, _, avg_factor = head.get_targets(
        anchors, valid, [s.gt_instances for s in samples], metas, unmap_outputs=True)
    total = 0.0
    for image in range(len(samples)):
        score = torch.cat([s[image].permute(1, 2, 0).reshape(-1, head.num_classes + 1) for s in cls_scores])
        pred = torch.cat([p[image].permute(1, 2, 0).reshape(-1, 4) for p in bbox_preds])
        label = torch.cat([level[image] for level in labels])
        target = torch.cat([level[image] for level in bbox_targets])
        ce = F.cross_entropy(score, label, reduction='none') * torch.cat([w[image] for w in label_weights])
        positive = label < head.num_classes
        c = ce[positive]
        error = (pred[positive] - target[positive]).abs()
        l = torch.where(error < 1, 0.5 * error ** 2, error - 0.5).sum(-1)
        negatives = sorted(ce[label == head.num_classes].tolist(), reverse=True)
        total = total + ((1 + torch.exp(-l)) * c + (1 + torch.exp(-c)) * l).sum()
        total = total + sum(negatives[:NEG_POS_RATIO * int(positive.sum())])
    return total / avg_factor


def test_equals_the_image_by_image_reference(ssd_head_cfg, detection_batch):
    head = MODELS.build(ssd_head_cfg('HarmonicSSDHead'))
    feats, samples = detection_batch(IMAGES)
    cls_scores, bbox_preds = head(feats)
    losses = head.loss_by_feat(cls_scores, bbox_preds, [s.gt_instances for s in samples],
                               [s.metainfo for s in samples])
    torch.testing.assert_close(total(losses), harmonic_reference(head, cls_scores, bbox_preds, samples),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('box_loss', [
    dict(loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0)),
    dict(reg_decoded_bbox=True, loss_bbox=dict(type='GIoULoss', loss_weight=1.0)),
    dict(reg_decoded_bbox=True, loss_bbox=dict(type='HarmonicIoULoss', gamma=0.5, loss_weight=1.0)),
], ids=['smooth_l1', 'giou', 'hiou'])
def test_any_box_loss_trains_and_predicts_softmax_scores(ssd_head_cfg, detection_batch, box_loss):
    head = MODELS.build(ssd_head_cfg('HarmonicSSDHead', **box_loss))
    assert head.cls_out_channels == 4, 'a background channel, as SSDHead'
    feats, samples = detection_batch(IMAGES)
    losses = head.loss(feats, samples)
    assert torch.isfinite(total(losses)) and summed(losses, 'loss_bbox') > 0
    total(losses).backward()
    assert all(torch.isfinite(p.grad).all() for p in head.parameters())
    results = head.predict(feats, copy.deepcopy(samples), rescale=False)
    assert all(result.labels.max() < 3 and (result.scores <= 1).all() for result in results)


def test_batch_without_positives_and_image_without_objects(ssd_head_cfg, detection_batch):
    head = MODELS.build(ssd_head_cfg('HarmonicSSDHead', reg_decoded_bbox=True,
                                     loss_bbox=dict(type='HarmonicIoULoss')))
    feats, samples = detection_batch([([], []), ([], [])])
    losses = head.loss(feats, samples)
    assert summed(losses, 'loss_cls').item() == 0.0 and summed(losses, 'loss_bbox').item() == 0.0, \
        'SSD mines no negatives without positives'
    feats, samples = detection_batch([IMAGES[0], ([], [])])
    losses = head.loss(feats, samples)
    assert torch.isfinite(total(losses)) and total(losses) > 0
    total(losses).backward()
    assert all(torch.isfinite(p.grad).all() for p in head.parameters())


def test_configurable_head_computes_ssd_loss_and_predicts(ssd_head_cfg, detection_batch):
    cfg = ssd_head_cfg('SSDHead')
    stock = MODELS.build(cfg)
    ours = MODELS.build(dict(cfg, type='ConfigurableSSDHead'))
    ours.load_state_dict(stock.state_dict())
    feats, samples = detection_batch(IMAGES)
    expected = stock.loss(feats, samples)
    actual = ours.loss(feats, copy.deepcopy(samples))
    for name in ('loss_cls', 'loss_bbox'):
        torch.testing.assert_close(summed(actual, name), summed(expected, name), rtol=1e-6, atol=1e-7)
    with pytest.raises(AttributeError, match="no attribute 'loss_cls'"):
        stock.predict(feats, samples)  # mmdet 3.3.0's bug; when this fails, mmdet fixed it.
    results = ours.predict(feats, copy.deepcopy(samples), rescale=False)
    assert all(len(result.scores) > 0 for result in results)
    with pytest.raises(ValueError, match='use_sigmoid=False'):
        MODELS.build(dict(cfg, type='ConfigurableSSDHead', loss_cls=dict(type='FocalLoss', use_sigmoid=True)))
