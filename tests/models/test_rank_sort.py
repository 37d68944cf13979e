"""RankSortLoss and ValueBalancedATSSHead (RS-ATSS with it): the loss against the functional one on mmdet's labels, the head
against an anchor-by-anchor reference of the paper's RS-ATSS training step (Oksuz et al., ICCV
2021)."""
import math

import pytest
import torch

pytest.importorskip('mmdet', reason='the mmdet modules need mmdet (the op tests do not)')

from mmdet.registry import MODELS  # noqa: E402
from mmengine.config import ConfigDict  # noqa: E402

import mmdet_losses  # noqa: E402,F401  (registers the modules)
from mmdet_losses.functional import rank_sort_loss, rank_sort_loss_reference  # noqa: E402

TWO_IMAGES = [([[4.0, 4.0, 36.0, 40.0]], [1]),
              ([[10.0, 8.0, 30.0, 28.0], [32.0, 30.0, 60.0, 62.0]], [0, 2])]


def head_cfg(**overrides):
    cfg = dict(
        type='ValueBalancedATSSHead', num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1,
        norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
        anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=4, scales_per_octave=3,
                              strides=[8, 16]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[0.1, 0.1, 0.2, 0.2]),
        train_cfg=dict(assigner=dict(type='ATSSAssigner', topk=9), allowed_border=-1, pos_weight=-1, debug=False),
        test_cfg=ConfigDict(nms_pre=100, min_bbox_size=0, score_thr=0.0, nms=dict(type='nms', iou_threshold=0.6),
                            max_per_img=20))
    cfg.update(overrides)
    return cfg


def scores_and_labels(seed=0, n=60, classes=4):
    generator = torch.Generator().manual_seed(seed)
    cls_score = torch.randn(n, classes, generator=generator, dtype=torch.float64)
    labels = torch.randint(0, classes + 1, (n,), generator=generator)
    labels[torch.rand(n, generator=generator) < 0.5] = classes
    quality = torch.rand(n, generator=generator, dtype=torch.float64)
    return cls_score, labels, quality


def test_loss_equals_the_functional_loss_on_mmdet_targets():
    cls_score, labels, quality = scores_and_labels()
    label_weights = torch.ones(60)
    label_weights[:5] = 0
    loss = MODELS.build(dict(type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=2.0))
    ranking, sorting = loss.ranking_and_sorting(cls_score, (labels, quality), label_weights)
    targets = torch.zeros_like(cls_score)
    for row, label in enumerate(labels.tolist()):
        if label_weights[row] == 0:
            targets[row] = -1
        elif label < 4:
            targets[row, label] = quality[row]
    expected = rank_sort_loss(cls_score, targets)
    torch.testing.assert_close(ranking, 2.0 * expected[0], rtol=1e-14, atol=0)
    torch.testing.assert_close(sorting, 2.0 * expected[1], rtol=1e-14, atol=0)
    torch.testing.assert_close(loss(cls_score, (labels, quality), label_weights), 2.0 * sum(expected))


def test_labels_alone_give_the_ranking_part_only():
    cls_score, labels, _ = scores_and_labels(1)
    loss = MODELS.build(dict(type='RankSortLoss', use_sigmoid=True))
    ranking, sorting = loss.ranking_and_sorting(cls_score, labels)
    assert sorting.item() == 0 and ranking.item() > 0
    torch.testing.assert_close(loss(cls_score, labels), ranking)


def test_a_positive_of_quality_zero_stays_positive():
    cls_score, labels, quality = scores_and_labels(2)
    quality[labels < 4] = 0.0
    loss = MODELS.build(dict(type='RankSortLoss', use_sigmoid=True, min_quality=1e-6))
    ranking, sorting = loss.ranking_and_sorting(cls_score, (labels, quality))
    reference_ranking, _ = loss.ranking_and_sorting(cls_score, labels)
    torch.testing.assert_close(ranking, reference_ranking, rtol=1e-14, atol=0)
    assert sorting.item() == 0


def test_bad_arguments_raise_clear_errors():
    cls_score, labels, quality = scores_and_labels(3)
    loss = MODELS.build(dict(type='RankSortLoss', use_sigmoid=True))
    with pytest.raises(ValueError, match=r'RankSortLoss: quality must be a floating tensor of shape \(60,\), got '
                                         r'torch.float64 of shape \(59,\)'):
        loss(cls_score, (labels, quality[1:]))
    quality[labels < 4] = 1.5
    index = int((labels < 4).nonzero()[0])
    with pytest.raises(ValueError, match=f'RankSortLoss: quality must be in \\[0, 1\\] at the positive anchors, '
                                         f'got 1.5 at index {index}'):
        loss(cls_score, (labels, quality))
    with pytest.raises(ValueError, match="RankSortLoss: reduction_override='none' is not defined"):
        loss(cls_score, labels, reduction_override='none')
    with pytest.raises(ValueError, match='RankSortLoss: delta must be > 0, got 0'):
        MODELS.build(dict(type='RankSortLoss', use_sigmoid=True, delta=0))
    with pytest.raises(ValueError, match='RankSortLoss: min_quality must be in \\(0, 1\\], got 0'):
        MODELS.build(dict(type='RankSortLoss', use_sigmoid=True, min_quality=0))
    with pytest.raises(ValueError, match='ValueBalancedATSSHead: loss_centerness is not used'):
        MODELS.build(head_cfg(loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True)))


def anchor_by_anchor_reference(head, cls_scores, bbox_preds, samples, targets_at=slice(1, 4), targets=None):
    """The RS-ATSS losses written one anchor at a time: entries read from the head's output maps by
    (image, level, y, x, anchor), IoU and GIoU by their formulas, the ranking by the loop oracle.
    ``targets_at``: where (labels, label weights, box targets) are in the head's ``get_targets``;
    ``targets``: those three given instead, per level (num_images, level_anchors, ...)."""
    metas = [s.metainfo for s in samples]
    anchor_list, valid = head.get_anchors([s.shape[-2:] for s in cls_scores], metas, device=cls_scores[0].device)
    per_level_anchors = [[level.clone() for level in image] for image in anchor_list]
    if targets is None:
        targets = head.get_targets(anchor_list, valid, [s.gt_instances for s in samples], metas)[targets_at]
    labels, label_weights, bbox_targets = targets
    classes, per_location = head.cls_out_channels, head.num_base_priors
    scores, targets, box_terms, weights = [], [], [], []
    for level, score_map in enumerate(cls_scores):
        height, width = score_map.shape[-2:]
        for image in range(score_map.shape[0]):
            for y in range(height):
                for x in range(width):
                    for a in range(per_location):
                        index = (y * width + x) * per_location + a
                        score = torch.stack([score_map[image, a * classes + c, y, x] for c in range(classes)])
                        scores.append(score)
                        label = int(labels[level][image, index])
                        if label_weights[level][image, index] == 0:
                            targets.append([-1.0] * classes)
                            continue
                        if label == classes:
                            targets.append([0.0] * classes)
                            continue
                        deltas = torch.stack([bbox_preds[level][image, a * 4 + k, y, x] for k in range(4)])
                        box = decode(per_level_anchors[image][level][index], deltas)
                        gt = bbox_targets[level][image, index]
                        iou, giou = iou_and_giou(box, gt)
                        row = [0.0] * classes
                        row[label] = iou.item()
                        targets.append(row)
                        weight = score.detach().sigmoid().max()
                        weights.append(weight)
                        box_terms.append(weight * (1 - giou))
    ranking, sorting = rank_sort_loss_reference(torch.stack(scores), torch.tensor(targets))
    box = sum(box_terms) / sum(weights)
    return ranking, sorting, box * (ranking + sorting).detach() / box.detach()


def decode(anchor, deltas):
    """DeltaXYWHBBoxCoder with stds (0.1, 0.1, 0.2, 0.2), written out (no clipping)."""
    width, height = anchor[2] - anchor[0], anchor[3] - anchor[1]
    cx, cy = (anchor[0] + anchor[2]) / 2, (anchor[1] + anchor[3]) / 2
    limit = abs(math.log(16 / 1000))
    dw, dh = (deltas[2] * 0.2).clamp(-limit, limit), (deltas[3] * 0.2).clamp(-limit, limit)
    cx, cy = cx + deltas[0] * 0.1 * width, cy + deltas[1] * 0.1 * height
    width, height = width * dw.exp(), height * dh.exp()
    return torch.stack([cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2])


def iou_and_giou(box, gt):
    def area(b):
        return (b[2] - b[0]).clamp(min=0) * (b[3] - b[1]).clamp(min=0)
    inner = torch.stack([torch.maximum(box[0], gt[0]), torch.maximum(box[1], gt[1]),
                         torch.minimum(box[2], gt[2]), torch.minimum(box[3], gt[3])])
    outer = torch.stack([torch.minimum(box[0], gt[0]), torch.minimum(box[1], gt[1]),
                         torch.maximum(box[2], gt[2]), torch.maximum(box[3], gt[3])])
    union = area(box) + area(gt) - area(inner)
    iou = area(inner) / union
    enclosing = area(outer)
    return iou.detach(), iou - (enclosing - union) / enclosing


def test_head_equals_the_anchor_by_anchor_reference(detection_batch):
    head = MODELS.build(head_cfg())
    head.init_weights()
    feats, samples = detection_batch(TWO_IMAGES)
    cls_scores, bbox_preds = head(feats)
    assert len(head(feats)) == 2  # no centerness branch
    losses = head.loss_by_feat(cls_scores, bbox_preds, [s.gt_instances for s in samples],
                               [s.metainfo for s in samples])
    expected = anchor_by_anchor_reference(head, cls_scores, bbox_preds, samples)
    for name, value in zip(('loss_rank', 'loss_sort', 'loss_bbox'), expected):
        torch.testing.assert_close(losses[name], value, rtol=1e-5, atol=1e-7, msg=name)
    assert losses['loss_sort'] > 0
    assert_same_gradients(sum(losses.values()), sum(expected), cls_scores + bbox_preds)


def assert_same_gradients(loss, reference_loss, maps):
    got = torch.autograd.grad(loss, maps)
    wanted = torch.autograd.grad(reference_loss, maps, allow_unused=True)  # a level may have no positive
    for index, (value, reference, output) in enumerate(zip(got, wanted, maps)):
        reference = torch.zeros_like(output) if reference is None else reference
        torch.testing.assert_close(value, reference, rtol=1e-4, atol=1e-7, msg=f'gradient of map {index}')


def test_minibatch_without_any_positive_and_prediction(detection_batch):
    head = MODELS.build(head_cfg())
    feats, samples = detection_batch([([], []), ([], [])])
    losses = head.loss(feats, samples)
    assert all(value.item() == 0 for value in losses.values())
    sum(losses.values()).backward()
    assert all(p.grad is None or not p.grad.any() for p in head.parameters())
    results = head.predict(feats, samples)
    assert len(results) == 2 and results[0].bboxes.shape[1] == 4 and len(results[0]) == 20


def test_the_old_name_and_other_quality_losses(detection_batch):
    """RankSortATSSHead (older configs) is the same head; a per-entry quality loss (mmdet's
    QualityFocalLoss) trains in it too, logged as loss_cls and averaged over the positives."""
    feats, samples = detection_batch(TWO_IMAGES)
    torch.manual_seed(0)
    head = MODELS.build(head_cfg())
    torch.manual_seed(0)
    alias = MODELS.build(head_cfg(type='RankSortATSSHead'))
    for name, value in head.loss(feats, samples).items():
        torch.testing.assert_close(alias.loss(feats, samples)[name], value)
    quality = MODELS.build(head_cfg(loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0)))
    losses = quality.loss(feats, samples)
    assert losses.keys() == {'loss_cls', 'loss_bbox'} and losses['loss_cls'] > 0
    torch.testing.assert_close(losses['loss_bbox'], losses['loss_cls'])  # the value-based balance
