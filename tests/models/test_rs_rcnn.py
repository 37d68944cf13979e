"""RS-R-CNN's heads (Oksuz et al., ICCV 2021, sec. 5): ValueBalancedRPNHead against an anchor-by-
anchor reference, ValueBalancedBBoxHead against an RoI-by-RoI one, and the detector training a
step and predicting."""

import pytest
import torch

pytest.importorskip('mmdet', reason='the mmdet modules need mmdet (the op tests do not)')

from mmdet.registry import MODELS  # noqa: E402
from mmengine.config import ConfigDict  # noqa: E402

import mmdet_losses  # noqa: E402,F401  (registers the modules)
import rank_sort_tests  # noqa: E402  (tests/models/conftest.py loads test_rank_sort.py by this name)
from mmdet_losses.functional import rank_sort_loss_reference  # noqa: E402

TWO_IMAGES = [([[4.0, 4.0, 36.0, 40.0]], [0]), ([[10.0, 8.0, 30.0, 28.0], [32.0, 30.0, 60.0, 62.0]], [0, 0])]
CODER = dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[0.1, 0.1, 0.2, 0.2])
RANK_SORT = dict(type='RankSortLoss', use_sigmoid=True, delta=0.5)


def rpn_cfg(**overrides):
    cfg = dict(type='ValueBalancedRPNHead', in_channels=8, feat_channels=8, head_weight=0.2,
               anchor_generator=dict(type='AnchorGenerator', scales=[4], ratios=[0.5, 1.0, 2.0], strides=[8, 16]),
               bbox_coder=CODER, loss_cls=RANK_SORT, loss_bbox=dict(type='GIoULoss', loss_weight=1.0),
               train_cfg=ConfigDict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.3,
                                                  min_pos_iou=0.3, ignore_iof_thr=-1),
                                    sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1,
                                    debug=False),
               test_cfg=ConfigDict(nms_pre=100, max_per_img=20, nms=dict(type='nms', iou_threshold=0.7),
                                   min_bbox_size=0))
    cfg.update(overrides)
    return cfg


def test_rpn_head_equals_the_anchor_by_anchor_reference(detection_batch):
    torch.manual_seed(0)
    head = MODELS.build(rpn_cfg())
    feats, samples = detection_batch(TWO_IMAGES)
    cls_scores, bbox_preds = head(feats)
    losses = head.loss_by_feat(cls_scores, bbox_preds, [s.gt_instances for s in samples],
                               [s.metainfo for s in samples])
    assert losses.keys() == {'loss_rpn_rank', 'loss_rpn_sort', 'loss_rpn_bbox'}
    expected = [0.2 * value for value in rank_sort_tests.anchor_by_anchor_reference(
        head, cls_scores, bbox_preds, samples, targets_at=slice(0, 3))]
    for name, value in zip(('loss_rpn_rank', 'loss_rpn_sort', 'loss_rpn_bbox'), expected):
        torch.testing.assert_close(losses[name], value, rtol=1e-5, atol=1e-7, msg=name)
    assert losses['loss_rpn_sort'] > 0
    rank_sort_tests.assert_same_gradients(sum(losses.values()), sum(expected), cls_scores + bbox_preds)


def test_rpn_head_without_objects_and_its_proposals(detection_batch):
    head = MODELS.build(rpn_cfg())
    feats, samples = detection_batch([([], []), ([], [])])
    losses = head.loss(feats, samples)
    assert all(value.item() == 0 for value in losses.values())
    assert len(head.predict(feats, samples)[0]) == 20
    with pytest.raises(ValueError, match='head_weight must be > 0, got 0'):
        MODELS.build(rpn_cfg(head_weight=0))


@pytest.fixture
def bbox_head():
    torch.manual_seed(0)
    return MODELS.build(dict(type='ValueBalancedBBoxHead', in_channels=4, fc_out_channels=16, roi_feat_size=2,
                             num_classes=3, bbox_coder=CODER, reg_class_agnostic=False, loss_cls=RANK_SORT))


def roi_by_roi_reference(cls_score, bbox_pred, rois, labels, bbox_targets):
    """The RS-R-CNN RoI losses written one RoI at a time."""
    classes = cls_score.size(1)
    targets, box_terms, weights = [], [], []
    for i in range(len(labels)):
        row = [0.0] * classes
        label = int(labels[i])
        if label < classes:
            box = rank_sort_tests.decode(rois[i, 1:], bbox_pred[i, 4 * label:4 * label + 4])
            iou, giou = rank_sort_tests.iou_and_giou(box, bbox_targets[i])
            row[label] = iou.item()
            weight = cls_score[i].detach().sigmoid().max()
            weights.append(weight)
            box_terms.append(weight * (1 - giou))
        targets.append(row)
    ranking, sorting = rank_sort_loss_reference(cls_score, torch.tensor(targets))
    box = sum(box_terms) / sum(weights)
    return ranking, sorting, box * (ranking + sorting).detach() / box.detach()


def test_bbox_head_equals_the_roi_by_roi_reference(bbox_head):
    assert bbox_head.fc_cls.out_features == 3
    cls_score, bbox_pred = bbox_head(torch.randn(8, 4, 2, 2))
    rois = torch.tensor([[0, 10.0, 10.0, 40.0, 40.0], [0, 12.0, 8.0, 44.0, 38.0], [1, 50.0, 50.0, 90.0, 80.0],
                         [1, 52.0, 48.0, 88.0, 84.0], [0, 0.0, 0.0, 20.0, 20.0], [1, 5.0, 60.0, 30.0, 95.0],
                         [0, 60.0, 5.0, 95.0, 30.0], [1, 30.0, 30.0, 60.0, 60.0]])
    labels = torch.tensor([0, 2, 1, 2, 3, 3, 3, 0])
    gts = torch.tensor([[11.0, 11.0, 41.0, 39.0], [13.0, 9.0, 42.0, 40.0], [51.0, 49.0, 91.0, 82.0],
                        [50.0, 50.0, 90.0, 82.0], [0.0] * 4, [0.0] * 4, [0.0] * 4, [28.0, 31.0, 62.0, 58.0]])
    losses = bbox_head.loss(cls_score, bbox_pred, rois, labels, torch.ones(8), gts, torch.ones(8, 4))
    expected = roi_by_roi_reference(cls_score, bbox_pred, rois, labels, gts)
    for name, value in zip(('loss_rank', 'loss_sort', 'loss_bbox'), expected):
        torch.testing.assert_close(losses[name], value, rtol=1e-5, atol=1e-7, msg=name)
    assert losses['loss_sort'] > 0 and 'acc' in losses
    rank_sort_tests.assert_same_gradients(losses['loss_rank'] + losses['loss_sort'] + losses['loss_bbox'],
                                          sum(expected), (cls_score, bbox_pred))


def test_bbox_head_needs_a_ranking_loss():
    with pytest.raises(ValueError, match='ValueBalancedBBoxHead: loss_cls must be a ranking loss'):
        MODELS.build(dict(type='ValueBalancedBBoxHead', in_channels=4, fc_out_channels=16, roi_feat_size=2,
                          num_classes=3, loss_cls=dict(type='CrossEntropyLoss')))


def test_mask_head_weights_dice_by_score_and_balances_by_value():
    """1 - Dice of each positive RoI's class mask, weighted by its score, normalised by the weights,
    scaled to the classification loss's value; written out RoI by RoI."""
    from types import SimpleNamespace
    torch.manual_seed(0)
    head = MODELS.build(dict(type='ValueBalancedMaskHead', num_convs=1, in_channels=4, conv_out_channels=4,
                             num_classes=3))
    mask_preds = torch.randn(3, 3, 28, 28, requires_grad=True)
    targets = (torch.rand(3, 28, 28) > 0.5).float()
    labels = torch.tensor([2, 0, 1])
    weights, value = torch.tensor([0.9, 0.2, 0.5]), torch.tensor(0.7)
    head.get_targets = lambda *args: targets
    head.balance_with(weights, value)
    sampling = [SimpleNamespace(pos_gt_labels=labels[:2]), SimpleNamespace(pos_gt_labels=labels[2:])]
    loss = head.loss_and_target(mask_preds, sampling, [], None)['loss_mask']['loss_mask']
    terms = []
    for roi in range(3):
        mask, target = mask_preds[roi, labels[roi]].sigmoid(), targets[roi]
        dice = 2 * (mask * target).sum() / ((mask * mask).sum() + (target * target).sum() + 1e-5)
        terms.append(weights[roi] * (1 - dice))
    expected = sum(terms) / weights.sum()
    torch.testing.assert_close(loss, expected * value / expected.detach())
    torch.testing.assert_close(loss.detach(), value)
    got, = torch.autograd.grad(loss, mask_preds, retain_graph=True)
    wanted, = torch.autograd.grad(expected * value / expected.detach(), mask_preds)
    torch.testing.assert_close(got, wanted)
    with pytest.raises(RuntimeError, match='use it in a ValueBalancedRoIHead'):
        head.loss_and_target(mask_preds, sampling, [], None)
