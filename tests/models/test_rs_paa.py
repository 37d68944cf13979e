"""RS-PAA's head (Oksuz et al., ICCV 2021, sec. 5): PAA's candidates scored by focal loss + GIoU
written out, the losses against the anchor-by-anchor RS reference on the targets that PAA's
mixture leaves, and prediction by the classification scores alone."""
import math

import pytest
import torch

pytest.importorskip('mmdet', reason='the mmdet modules need mmdet (the op tests do not)')
pytest.importorskip('sklearn', reason="PAA's assignment fits a Gaussian mixture with scikit-learn")

from mmdet.models.utils import levels_to_images  # noqa: E402
from mmdet.registry import MODELS  # noqa: E402
from mmengine.config import ConfigDict  # noqa: E402

import mmdet_losses  # noqa: E402,F401  (registers the modules)
import rank_sort_tests  # noqa: E402  (tests/models/conftest.py loads test_rank_sort.py by this name)

TWO_IMAGES = [([[4.0, 4.0, 36.0, 40.0]], [1]), ([[10.0, 8.0, 30.0, 28.0], [32.0, 30.0, 60.0, 62.0]], [0, 2])]


def head_cfg(**overrides):
    cfg = dict(
        type='ValueBalancedPAAHead', num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1, topk=9,
        norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
        anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=4, scales_per_octave=3,
                              strides=[8, 16]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[0.1, 0.1, 0.2, 0.2]),
        train_cfg=ConfigDict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.1, neg_iou_thr=0.1, min_pos_iou=0,
                                           ignore_iof_thr=-1),
                             allowed_border=-1, pos_weight=-1, debug=False),
        test_cfg=ConfigDict(nms_pre=100, min_bbox_size=0, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.6),
                            max_per_img=20))
    cfg.update(overrides)
    return cfg


@pytest.fixture
def step(detection_batch):
    """(head, cls_scores, bbox_preds, samples) of one training step on TWO_IMAGES."""
    torch.manual_seed(0)
    head = MODELS.build(head_cfg())
    feats, samples = detection_batch(TWO_IMAGES)
    cls_scores, bbox_preds = head(feats)
    return head, cls_scores, bbox_preds, samples


def targets_of(head, cls_scores, samples):
    """PAA's first assignment: per image, (labels, label weights, box targets, box weights,
    candidates, their objects), and the anchors of each image (levels joined)."""
    metas = [s.metainfo for s in samples]
    anchor_list, valid = head.get_anchors([s.shape[-2:] for s in cls_scores], metas, device=cls_scores[0].device)
    return anchor_list, head.get_targets(anchor_list, valid, [s.gt_instances for s in samples], metas)


def focal(logit, positive, gamma=2.0, alpha=0.25):
    p = 1 / (1 + math.exp(-logit))
    p_t, alpha_t = (p, alpha) if positive else (1 - p, 1 - alpha)
    return -alpha_t * (1 - p_t) ** gamma * math.log(p_t)


def test_candidates_are_scored_by_focal_loss_plus_giou(step):
    head, cls_scores, bbox_preds, samples = step
    anchor_list, (labels, label_weights, bbox_targets, _, candidates, _) = targets_of(head, cls_scores, samples)
    per_image_scores = [s.reshape(-1, 3) for s in levels_to_images(cls_scores)]
    per_image_deltas = [p.reshape(-1, 4) for p in levels_to_images(bbox_preds)]
    for image in range(2):
        anchors = torch.cat(anchor_list[image])
        got = head.candidate_losses(anchors, per_image_scores[image], per_image_deltas[image], labels[image],
                                    label_weights[image], bbox_targets[image], candidates[image])
        assert len(got) == len(candidates[image]) > 10
        for value, index in zip(got, candidates[image].tolist()):
            label = int(labels[image][index])
            classification = sum(focal(per_image_scores[image][index, c].item(), c == label) for c in range(3))
            box = rank_sort_tests.decode(anchors[index], per_image_deltas[image][index])
            _, giou = rank_sort_tests.iou_and_giou(box, bbox_targets[image][index])
            torch.testing.assert_close(value.item(), classification + 1 - giou.item(), rtol=1e-5, atol=1e-6)


def per_level(tensors, level_sizes):
    """Per-image tensors (levels joined) as per-level ones of shape (num_images, level_anchors, ...)."""
    return [torch.stack(level) for level in zip(*(t.split(level_sizes) for t in tensors))]


def test_head_equals_the_anchor_by_anchor_reference_on_paas_targets(step, monkeypatch):
    head, cls_scores, bbox_preds, samples = step
    reassigned = []
    paa_reassign = head.paa_reassign

    def recording(*args):
        result = paa_reassign(*args)
        reassigned.append(result)
        return result
    monkeypatch.setattr(head, 'paa_reassign', recording)
    losses = head.loss_by_feat(cls_scores, bbox_preds, [s.gt_instances for s in samples],
                               [s.metainfo for s in samples])
    assert losses.keys() == {'loss_rank', 'loss_sort', 'loss_bbox'}

    anchor_list, (first_labels, _, bbox_targets, _, candidates, _) = targets_of(head, cls_scores, samples)
    labels = [result[0] for result in reassigned]
    label_weights = [result[1] for result in reassigned]
    # The mixture kept some candidates of every image and made negatives of others.
    for image in range(2):
        kept = (labels[image] < 3).sum()
        assert 0 < kept < len(candidates[image]) and (first_labels[image] < 3).sum() == len(candidates[image])
    sizes = [len(level) for level in anchor_list[0]]
    targets = [per_level(t, sizes) for t in (labels, label_weights, bbox_targets)]
    expected = rank_sort_tests.anchor_by_anchor_reference(head, cls_scores, bbox_preds, samples, targets=targets)
    for name, value in zip(('loss_rank', 'loss_sort', 'loss_bbox'), expected):
        torch.testing.assert_close(losses[name], value, rtol=1e-5, atol=1e-7, msg=name)
    assert losses['loss_sort'] > 0
    rank_sort_tests.assert_same_gradients(sum(losses.values()), sum(expected), cls_scores + bbox_preds)
    # On the first assignment's candidates (focal-loss PAA's targets before the mixture) it would differ.
    before = rank_sort_tests.anchor_by_anchor_reference(
        head, cls_scores, bbox_preds, samples, targets=[per_level(t, sizes) for t in (first_labels, label_weights,
                                                                                     bbox_targets)])
    assert not torch.isclose(before[0], expected[0])


def test_prediction_ranks_by_the_classification_scores(step, detection_batch):
    head, cls_scores, _, samples = step
    feats, _ = detection_batch(TWO_IMAGES)
    head.with_score_voting = False
    results = head.predict(feats, samples)
    sigmoid = torch.cat([s[0].permute(1, 2, 0).reshape(-1, 3) for s in cls_scores]).sigmoid()
    assert len(results[0]) > 0
    for score, label in zip(results[0].scores, results[0].labels):
        # The score of an entry of its class (PAA's would be sqrt(score x predicted IoU)).
        assert torch.isclose(sigmoid[:, label], score, rtol=0, atol=1e-6).any()
    head.with_score_voting = True
    voted = head.predict(feats, samples)[0]
    # Score voting moves the boxes, grouped by class, and keeps their scores.
    torch.testing.assert_close(voted.scores.sort().values, results[0].scores.sort().values)
    assert not torch.equal(voted.bboxes.sort(0).values, results[0].bboxes.sort(0).values)


def test_minibatch_without_any_positive(detection_batch):
    head = MODELS.build(head_cfg())
    feats, samples = detection_batch([([], []), ([], [])])
    losses = head.loss(feats, samples)
    assert losses.keys() == {'loss_rank', 'loss_sort', 'loss_bbox'}
    assert all(value.item() == 0 for value in losses.values())
    sum(losses.values()).backward()
    assert all(p.grad is None or not p.grad.any() for p in head.parameters())


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match='ValueBalancedPAAHead: assigner_loss_cls must give a loss per anchor.*'
                                         'got RankSortLoss'):
        MODELS.build(head_cfg(assigner_loss_cls=dict(type='RankSortLoss', use_sigmoid=True)))
    with pytest.raises(ValueError, match='ValueBalancedPAAHead: loss_centerness is not used'):
        MODELS.build(head_cfg(loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True)))
