"""SigmoidSSDHead (and APLossSSDHead, its older name): sigmoid class scores, one AP-Loss ranking
over the minibatch, no mining."""
import pytest
import torch

pytest.importorskip('mmdet', reason='the mmdet modules need mmdet (the op tests do not)')

from mmdet.registry import MODELS  # noqa: E402

import mmdet_losses  # noqa: E402,F401  (registers the modules)


AP_LOSS = dict(type='APLoss', use_sigmoid=True)
IMAGES = [([[4.0, 4.0, 36.0, 40.0]], [1]),
          ([[10.0, 8.0, 30.0, 28.0], [32.0, 30.0, 60.0, 62.0]], [0, 2])]


@pytest.mark.parametrize('head_type', ['SigmoidSSDHead', 'APLossSSDHead'])
def test_sigmoid_channels_and_whole_minibatch_ranking(ssd_head_cfg, detection_batch,
                                                      one_ranking_reference, head_type):
    head = MODELS.build(ssd_head_cfg(head_type, loss_cls=AP_LOSS))
    assert head.cls_out_channels == 3 and head.use_sigmoid_cls
    feats, samples = detection_batch(IMAGES)
    cls_scores, bbox_preds = head(feats)
    assert cls_scores[0].shape[1] == head.num_base_priors[0] * 3
    losses = head.loss_by_feat(cls_scores, bbox_preds, [s.gt_instances for s in samples],
                               [s.metainfo for s in samples])
    torch.testing.assert_close(losses['loss_cls'], one_ranking_reference(head, cls_scores, samples),
                               rtol=1e-5, atol=1e-6)
    assert sum(losses['loss_bbox']) > 0
    (losses['loss_cls'] + sum(losses['loss_bbox'])).backward()
    assert all(torch.isfinite(p.grad).all() for p in head.parameters() if p.grad is not None)


def test_predict_uses_sigmoid_scores(ssd_head_cfg, detection_batch):
    head = MODELS.build(ssd_head_cfg('SigmoidSSDHead', loss_cls=AP_LOSS))
    feats, samples = detection_batch(IMAGES)
    results = head.predict(feats, samples, rescale=False)
    assert len(results) == 2
    for result in results:
        assert len(result.scores) > 0
        assert (result.scores > 0).all() and (result.scores < 1).all()
        assert result.labels.max() < 3


def test_without_positives_and_bad_config(ssd_head_cfg, detection_batch):
    head = MODELS.build(ssd_head_cfg('SigmoidSSDHead', loss_cls=AP_LOSS))
    feats, samples = detection_batch([([], []), ([], [])])
    losses = head.loss(feats, samples)
    assert losses['loss_cls'].item() == 0.0 and sum(losses['loss_bbox']).item() == 0.0
    with pytest.raises(ValueError, match='use_sigmoid=True'):
        MODELS.build(ssd_head_cfg('SigmoidSSDHead',
                                  loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False)))
