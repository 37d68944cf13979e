"""Rank & Sort in DINO and Deformable DETR (ValueBalancedDINOHead, ValueBalancedDeformableDETRHead):
one decoder layer's losses against a query-by-query reference on mmdet's own Hungarian matching,
a set without objects, and the refusal."""
import pytest
import torch

pytest.importorskip('mmdet', reason='the mmdet modules need mmdet (the op tests do not)')

from mmdet.registry import MODELS  # noqa: E402
from mmdet.structures import DetDataSample  # noqa: E402
from mmengine.config import ConfigDict  # noqa: E402
from mmengine.structures import InstanceData  # noqa: E402

import mmdet_losses  # noqa: E402,F401  (registers the modules)
import rank_sort_tests  # noqa: E402  (tests/models/conftest.py loads test_rank_sort.py by this name)
from mmdet_losses.functional import rank_sort_loss_reference  # noqa: E402

SIZE = (48, 64)  # (h, w): boxes are normalised by width and height apart
OBJECTS = [([[4.0, 4.0, 36.0, 40.0]], [1]), ([[10.0, 8.0, 30.0, 28.0], [32.0, 20.0, 60.0, 46.0]], [0, 2])]


def head_cfg(head_type, **overrides):
    cfg = dict(type=head_type, num_classes=3, embed_dims=16, sync_cls_avg_factor=True,
               loss_cls=dict(type='RankSortLoss', use_sigmoid=True, delta=0.5),
               loss_bbox=dict(type='L1Loss', loss_weight=5.0), loss_iou=dict(type='GIoULoss', loss_weight=2.0),
               train_cfg=ConfigDict(assigner=dict(type='HungarianAssigner', match_costs=[
                   dict(type='FocalLossCost', weight=2.0), dict(type='BBoxL1Cost', weight=5.0, box_format='xywh'),
                   dict(type='IoUCost', iou_mode='giou', weight=2.0)])),
               test_cfg=ConfigDict(max_per_img=20))
    cfg.update(overrides)
    return cfg


def decoder_layer(objects, queries=12, seed=0):
    generator = torch.Generator().manual_seed(seed)
    cls_scores = torch.randn(len(objects), queries, 3, generator=generator).requires_grad_()
    bbox_preds = torch.rand(len(objects), queries, 4, generator=generator).mul(0.5).add(0.25).requires_grad_()
    samples = []
    for boxes, labels in objects:
        sample = DetDataSample(metainfo=dict(img_shape=SIZE, pad_shape=SIZE, scale_factor=(1.0, 1.0)))
        sample.gt_instances = InstanceData(bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                                           labels=torch.tensor(labels, dtype=torch.long))
        samples.append(sample)
    return cls_scores, bbox_preds, [s.gt_instances for s in samples], [s.metainfo for s in samples]


def query_by_query_reference(head, cls_scores, bbox_preds, gts, metas):
    """mmdet's matching; then each query's row, its box (cx, cy, w, h) scaled by the image's width and
    height, IoU and GIoU by their formulas, L1 x 5 and GIoU x 2 over the positives, balanced by value."""
    matched = head.get_targets(list(cls_scores), list(bbox_preds), gts, metas)
    labels, targets = torch.cat(matched[0]), torch.cat(matched[2])
    height, width = SIZE
    scale = torch.tensor([width, height, width, height], dtype=torch.float32)

    def corners(box):
        cx, cy, w, h = box
        return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]) * scale
    rows, target_rows, l1, giou_terms = [], [], [], []
    for query, (row, box, label, target) in enumerate(zip(cls_scores.reshape(-1, 3), bbox_preds.reshape(-1, 4),
                                                         labels.tolist(), targets)):
        rows.append(row)
        target_row = [0.0] * 3
        if label < 3:
            iou, giou = rank_sort_tests.iou_and_giou(corners(box), corners(target))
            target_row[label] = iou.item()
            l1.append((box - target).abs().sum())
            giou_terms.append(1 - giou)
        target_rows.append(target_row)
    ranking, sorting = rank_sort_loss_reference(torch.stack(rows), torch.tensor(target_rows, dtype=torch.float64))
    positives = len(l1)
    loss_bbox, loss_iou = 5 * sum(l1) / positives, 2 * sum(giou_terms) / positives
    balance = (ranking + sorting).detach() / (loss_bbox + loss_iou).detach()
    return ranking + sorting, loss_bbox * balance, loss_iou * balance


@pytest.mark.parametrize('head_type', ['ValueBalancedDINOHead', 'ValueBalancedDeformableDETRHead'])
def test_one_decoder_layer_equals_the_query_by_query_reference(head_type):
    head = MODELS.build(head_cfg(head_type))
    cls_scores, bbox_preds, gts, metas = decoder_layer(OBJECTS)
    losses = head.loss_by_feat_single(cls_scores, bbox_preds, gts, metas)
    expected = query_by_query_reference(head, cls_scores, bbox_preds, gts, metas)
    for name, value, reference in zip(('loss_cls', 'loss_bbox', 'loss_iou'), losses, expected):
        torch.testing.assert_close(value, reference.to(value.dtype), rtol=1e-5, atol=1e-6, msg=name)
    # The value-based balance: the two box losses together weigh what the classification loss does.
    torch.testing.assert_close(losses[1] + losses[2], losses[0], rtol=1e-5, atol=1e-6)
    rank_sort_tests.assert_same_gradients(sum(losses), sum(expected).float(), (cls_scores, bbox_preds))


def test_a_set_without_objects_is_zero_and_reaches_the_predictions():
    head = MODELS.build(head_cfg('ValueBalancedDINOHead'))
    cls_scores, bbox_preds, gts, metas = decoder_layer([([], []), ([], [])])
    losses = head.loss_by_feat_single(cls_scores, bbox_preds, gts, metas)
    assert all(value.item() == 0 for value in losses)
    sum(losses).backward()
    assert not cls_scores.grad.any() and bbox_preds.grad is not None


def test_bf16_predictions_give_finite_losses_close_to_fp32(assert_bf16_losses_close):
    """A decoder layer's scores and boxes in bfloat16, as its linear layers give them under bf16
    autocast (the matching included)."""
    head = MODELS.build(head_cfg('ValueBalancedDINOHead'))
    cls_scores, bbox_preds, gts, metas = decoder_layer(OBJECTS)
    names = ('loss_cls', 'loss_bbox', 'loss_iou')
    full = dict(zip(names, head.loss_by_feat_single(cls_scores, bbox_preds, gts, metas)))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        low = dict(zip(names, head.loss_by_feat_single(cls_scores.bfloat16(), bbox_preds.bfloat16(), gts, metas)))
    sum(low.values()).backward()
    assert_bf16_losses_close(low, full)
    assert torch.isfinite(cls_scores.grad).all() and torch.isfinite(bbox_preds.grad).all()


def test_a_non_finite_prediction_is_named_before_the_matching():
    head = MODELS.build(head_cfg('ValueBalancedDINOHead'))
    cls_scores, bbox_preds, gts, metas = decoder_layer(OBJECTS)
    broken = cls_scores.detach().clone()
    broken[1, 2, 0] = float('nan')
    with pytest.raises(ValueError, match=r'ValueBalancedDINOHead.loss_by_feat_single: cls_scores must be finite, '
                                         r'got nan at flat index 42'):
        head.loss_by_feat_single(broken, bbox_preds, gts, metas)


def test_refusal():
    with pytest.raises(ValueError, match='ValueBalancedDINOHead: loss_cls must be RankSortLoss.*got FocalLoss'):
        MODELS.build(head_cfg('ValueBalancedDINOHead', loss_cls=dict(type='FocalLoss', use_sigmoid=True)))
