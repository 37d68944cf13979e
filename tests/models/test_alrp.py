"""aLRP's mmdet modules (Oksuz et al., NeurIPS 2020): ALRPRetinaHead against an anchor-by-anchor
reference of the authors' aLRPLossRetinaHead step, the self-balance weight and its hook, and the
refusals."""
from types import SimpleNamespace

import pytest
import torch

pytest.importorskip('mmdet', reason='the mmdet modules need mmdet (the op tests do not)')

from mmdet.registry import HOOKS, MODELS  # noqa: E402
from mmengine.config import ConfigDict  # noqa: E402

import mmdet_losses  # noqa: E402,F401  (registers the modules)
import rank_sort_tests  # noqa: E402  (tests/models/conftest.py loads test_rank_sort.py by this name)
from mmdet_losses.functional import alrp_loss_reference  # noqa: E402
from mmdet_losses.models import SelfBalance  # noqa: E402

TWO_IMAGES = [([[4.0, 4.0, 36.0, 40.0]], [1]), ([[10.0, 8.0, 30.0, 28.0], [32.0, 30.0, 60.0, 62.0]], [0, 2])]


def head_cfg(**overrides):
    cfg = dict(type='ALRPRetinaHead', num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1,
               anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=2,
                                     ratios=[0.5, 1.0], strides=[8, 16]),
               bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[0.1, 0.1, 0.2, 0.2]),
               train_cfg=ConfigDict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                                                  min_pos_iou=0, ignore_iof_thr=-1),
                                    sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1,
                                    debug=False),
               test_cfg=ConfigDict(nms_pre=100, min_bbox_size=0, score_thr=0.05,
                                   nms=dict(type='nms', iou_threshold=0.5), max_per_img=20))
    cfg.update(overrides)
    return cfg


def anchor_by_anchor_reference(head, cls_scores, bbox_preds, samples, targets_at=slice(0, 3), tau=0.5):
    """The authors' step written one anchor at a time: rows read from the output maps by (level,
    image, y, x, anchor), each positive's error (1 - GIoU of its decoded box) / (2 (1 - tau)), the
    ranking by the loop. ``targets_at``: where (labels, label weights, box targets) are in the
    head's ``get_targets``."""
    metas = [s.metainfo for s in samples]
    anchor_list, valid = head.get_anchors([s.shape[-2:] for s in cls_scores], metas, device=cls_scores[0].device)
    per_level_anchors = [[level.clone() for level in image] for image in anchor_list]
    labels, label_weights, bbox_targets = head.get_targets(anchor_list, valid, [s.gt_instances for s in samples],
                                                           metas)[targets_at]
    classes, per_location = head.cls_out_channels, head.num_base_priors
    rows, targets, errors = [], [], []
    for level, score_map in enumerate(cls_scores):
        height, width = score_map.shape[-2:]
        for image in range(score_map.shape[0]):
            for y in range(height):
                for x in range(width):
                    for a in range(per_location):
                        index = (y * width + x) * per_location + a
                        rows.append(torch.stack([score_map[image, a * classes + c, y, x] for c in range(classes)]))
                        label = int(labels[level][image, index])
                        row = [0] * classes
                        if label < classes:
                            row[label] = 1
                            deltas = torch.stack([bbox_preds[level][image, a * 4 + k, y, x] for k in range(4)])
                            box = rank_sort_tests.decode(per_level_anchors[image][level][index], deltas)
                            _, giou = rank_sort_tests.iou_and_giou(box, bbox_targets[level][image, index])
                            errors.append((1 - giou) / (2 * (1 - tau)))
                        if label_weights[level][image, index] == 0:
                            row = [-1] * classes
                        targets.append(row)
    return alrp_loss_reference(torch.stack(rows), torch.tensor(targets), torch.stack(errors))


def test_head_equals_the_anchor_by_anchor_reference(detection_batch):
    torch.manual_seed(0)
    head = MODELS.build(head_cfg())
    feats, samples = detection_batch(TWO_IMAGES)
    cls_scores, bbox_preds = head(feats)
    losses = head.loss_by_feat(cls_scores, bbox_preds, [s.gt_instances for s in samples],
                               [s.metainfo for s in samples])
    classification, localisation = anchor_by_anchor_reference(head, cls_scores, bbox_preds, samples)
    expected = dict(loss_cls=classification, loss_bbox=50 * localisation)
    for name, value in expected.items():
        torch.testing.assert_close(losses[name], value, rtol=1e-5, atol=1e-7, msg=name)
    rank_sort_tests.assert_same_gradients(sum(losses.values()), sum(expected.values()), cls_scores + bbox_preds)
    # The step was recorded for the self-balance weight.
    torch.testing.assert_close(head.self_balance.sums, torch.tensor(
        [classification.item(), localisation.item(), 1.0], dtype=torch.float64), rtol=1e-5, atol=1e-7)


def test_self_balance_weight_from_the_recorded_means_and_stored_in_the_state():
    balance = SelfBalance()
    assert balance.weight.item() == 50
    for classification, localisation in ((0.6, 0.2), (0.4, 0.3)):
        balance.record(torch.tensor(classification), torch.tensor(localisation))
    balance.eval()
    balance.record(torch.tensor(9.0), torch.tensor(9.0))  # not a training step
    state = balance.state_dict()
    assert set(state) == {'weight', 'sums'}
    balance.update()
    assert balance.weight.item() == pytest.approx((1.0 + 0.5) / 0.5) and not balance.sums.any()
    restored = SelfBalance()
    restored.load_state_dict(state)
    restored.update()
    assert restored.weight.item() == balance.weight.item()
    balance.update()  # nothing recorded: the weight stays
    assert balance.weight.item() == pytest.approx(3.0)


def test_the_hook_updates_at_the_end_of_each_epoch_of_the_schedule():
    from mmengine.runner import EpochBasedTrainLoop
    hook = HOOKS.build(dict(type='ALRPSelfBalanceHook'))
    model = torch.nn.Sequential(SelfBalance())
    balance = model[0]

    def runner(epoch_based, iteration=0, iterations_per_epoch=4):
        loop = object.__new__(EpochBasedTrainLoop) if epoch_based else object()
        return SimpleNamespace(train_loop=loop, model=model, iter=iteration,
                               train_dataloader=[0] * iterations_per_epoch)
    balance.record(torch.tensor(1.0), torch.tensor(1.0))
    hook.after_train_iter(runner(True, iteration=3), 3)
    assert balance.weight.item() == 50  # an epoch-based run updates after its epochs only
    hook.after_train_epoch(runner(True))
    assert balance.weight.item() == 2
    balance.record(torch.tensor(3.0), torch.tensor(1.0))
    hook.after_train_iter(runner(False, iteration=2), 2)
    assert balance.weight.item() == 2
    hook.after_train_iter(runner(False, iteration=3), 3)  # the 4th iteration ends an epoch of 4
    assert balance.weight.item() == 4


def test_refusals():
    with pytest.raises(ValueError, match='ALRPRetinaHead: loss_cls must be ALRPLoss, got FocalLoss'):
        MODELS.build(head_cfg(loss_cls=dict(type='FocalLoss', use_sigmoid=True)))
    with pytest.raises(ValueError, match=r'ALRPRetinaHead: tau must be in \[0, 1\), got 1'):
        MODELS.build(head_cfg(tau=1))
    loss = MODELS.build(dict(type='ALRPLoss', use_sigmoid=True))
    scores, labels = torch.randn(6, 3), torch.tensor([0, 3, 3, 1, 3, 3])
    with pytest.raises(ValueError, match="ALRPLoss needs each positive's localisation error.*ALRPRetinaHead"):
        loss(scores, labels, torch.ones(6), avg_factor=2.0)
    with pytest.raises(ValueError, match='ALRPLoss: avg_factor and reduction_override are not defined'):
        loss(scores, labels, torch.ones(6), avg_factor=2.0, box_errors=torch.ones(2))
    with pytest.raises(ValueError, match='ALRPLoss: delta must be > 0, got 0'):
        MODELS.build(dict(type='ALRPLoss', delta=0))
    with pytest.raises(ValueError, match=r'alrp_loss: box_errors must have one value per positive, shape \(2,\)'):
        loss(scores, labels, torch.ones(6), box_errors=torch.ones(3))


def test_a_step_without_objects_is_zero_and_reaches_every_parameter(detection_batch):
    head = MODELS.build(head_cfg())
    feats, samples = detection_batch([([], []), ([], [])])
    losses = head.loss(feats, samples)
    assert all(value.item() == 0 for value in losses.values())
    sum(losses.values()).backward()
    # A zero gradient, not none: under DistributedDataParallel a process without objects still
    # reduces the box branch's gradients with the others.
    assert all(p.grad is not None and not p.grad.any() for p in head.parameters())


CODER = dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[0.1, 0.1, 0.2, 0.2])
ONE_CLASS = [([[4.0, 4.0, 36.0, 40.0]], [0]), ([[10.0, 8.0, 30.0, 28.0], [32.0, 30.0, 60.0, 62.0]], [0, 0])]


def atss_cfg(**overrides):
    cfg = dict(type='ALRPATSSHead', num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1, norm_cfg=None,
               anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=4, scales_per_octave=2,
                                     strides=[8, 16]),
               bbox_coder=CODER,
               train_cfg=dict(assigner=dict(type='ATSSAssigner', topk=9), allowed_border=-1, pos_weight=-1,
                              debug=False),
               test_cfg=ConfigDict(nms_pre=100, min_bbox_size=0, score_thr=0.0, nms=dict(type='nms', iou_threshold=0.6),
                                   max_per_img=20))
    cfg.update(overrides)
    return cfg


def rpn_cfg(**overrides):
    cfg = dict(type='ALRPRPNHead', in_channels=8, feat_channels=8,
               anchor_generator=dict(type='AnchorGenerator', scales=[4], ratios=[0.5, 1.0, 2.0], strides=[8, 16]),
               bbox_coder=CODER,
               train_cfg=ConfigDict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.3,
                                                  min_pos_iou=0.3, ignore_iof_thr=-1),
                                    sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1,
                                    debug=False),
               test_cfg=ConfigDict(nms_pre=100, max_per_img=20, nms=dict(type='nms', iou_threshold=0.7),
                                   min_bbox_size=0))
    cfg.update(overrides)
    return cfg


def fovea_cfg(**overrides):
    cfg = dict(type='ALRPFoveaHead', num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1,
               strides=[8, 16], base_edge_list=[16, 32], scale_ranges=((1, 32), (16, 64)), sigma=0.4,
               test_cfg=ConfigDict(nms_pre=100, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5),
                                   max_per_img=20))
    cfg.update(overrides)
    return cfg


def assert_losses(losses, expected, maps):
    for name, value in expected.items():
        torch.testing.assert_close(losses[name], value, rtol=1e-5, atol=1e-7, msg=name)
    rank_sort_tests.assert_same_gradients(sum(losses[name] for name in expected), sum(expected.values()), maps)


def test_atss_head_equals_the_anchor_by_anchor_reference_on_atss_targets(detection_batch):
    torch.manual_seed(0)
    head = MODELS.build(atss_cfg())
    assert not hasattr(head, 'atss_centerness')
    feats, samples = detection_batch(TWO_IMAGES)
    cls_scores, bbox_preds = head(feats)
    losses = head.loss_by_feat(cls_scores, bbox_preds, [s.gt_instances for s in samples],
                               [s.metainfo for s in samples])
    classification, localisation = anchor_by_anchor_reference(head, cls_scores, bbox_preds, samples,
                                                              targets_at=slice(1, 4))
    assert localisation > 0
    assert_losses(losses, dict(loss_cls=classification, loss_bbox=50 * localisation), cls_scores + bbox_preds)


def test_rpn_head_equals_the_anchor_by_anchor_reference_at_tau_0_7(detection_batch):
    torch.manual_seed(0)
    head = MODELS.build(rpn_cfg())
    assert head.tau == 0.7 and head.head_weight == 0.2
    feats, samples = detection_batch(ONE_CLASS)
    cls_scores, bbox_preds = head(feats)
    losses = head.loss_by_feat(cls_scores, bbox_preds, [s.gt_instances for s in samples],
                               [s.metainfo for s in samples])
    assert losses.keys() == {'loss_rpn_cls', 'loss_rpn_bbox'}
    classification, localisation = anchor_by_anchor_reference(head, cls_scores, bbox_preds, samples, tau=0.7)
    assert_losses(losses, dict(loss_rpn_cls=0.2 * classification, loss_rpn_bbox=0.2 * 50 * localisation),
                  cls_scores + bbox_preds)
    assert len(head.predict(feats, samples)[0]) == 20
    with pytest.raises(ValueError, match='ALRPRPNHead: head_weight must be > 0, got 0'):
        MODELS.build(rpn_cfg(head_weight=0))


def location_by_location_reference(head, cls_scores, bbox_preds, samples):
    """The authors' aLRPLossFoveaHead step one location at a time: each point at the centre of its
    cell, boxes x1 = px - base_edge * exp(t_left) and so on for the prediction and for mmdet's
    log-space target, error 1 - GIoU."""
    sizes = [s.shape[-2:] for s in cls_scores]
    labels, log_targets = head.get_targets([s.gt_instances for s in samples], sizes, head.prior_generator.grid_priors(
        sizes, dtype=torch.float32, device='cpu'))
    rows, targets, errors, entry = [], [], [], 0
    classes = head.cls_out_channels
    for level, (score_map, stride, base) in enumerate(zip(cls_scores, head.strides, head.base_edge_list)):
        height, width = score_map.shape[-2:]
        for image in range(score_map.shape[0]):
            for y in range(height):
                for x in range(width):
                    rows.append(score_map[image, :, y, x])
                    label = int(labels[entry])
                    row = [0] * classes
                    if label < classes:
                        row[label] = 1
                        point = torch.tensor([(x + 0.5) * stride, (y + 0.5) * stride])

                        def box(edges):
                            distances = base * edges.exp()
                            return torch.cat([point - distances[:2], point + distances[2:]])
                        _, giou = rank_sort_tests.iou_and_giou(box(bbox_preds[level][image, :, y, x]),
                                                               box(log_targets[entry]))
                        errors.append(1 - giou)
                    targets.append(row)
                    entry += 1
    return alrp_loss_reference(torch.stack(rows), torch.tensor(targets), torch.stack(errors))


def test_fovea_head_equals_the_location_by_location_reference(detection_batch):
    torch.manual_seed(0)
    head = MODELS.build(fovea_cfg())
    feats, samples = detection_batch(TWO_IMAGES)
    cls_scores, bbox_preds = head(feats)
    losses = head.loss_by_feat(cls_scores, bbox_preds, [s.gt_instances for s in samples],
                               [s.metainfo for s in samples])
    classification, localisation = location_by_location_reference(head, cls_scores, bbox_preds, samples)
    assert localisation > 0
    assert_losses(losses, dict(loss_cls=classification, loss_bbox=50 * localisation), cls_scores + bbox_preds)
    assert len(head.predict(feats, samples)[0]) <= 20


@pytest.fixture
def bbox_head():
    torch.manual_seed(0)
    return MODELS.build(dict(type='ALRPBBoxHead', in_channels=4, fc_out_channels=16, roi_feat_size=2,
                             num_classes=3, bbox_coder=CODER, reg_class_agnostic=False))


ROIS = torch.tensor([[0, 10.0, 10.0, 40.0, 40.0], [0, 12.0, 8.0, 44.0, 38.0], [1, 50.0, 50.0, 90.0, 80.0],
                     [1, 52.0, 48.0, 88.0, 84.0], [0, 0.0, 0.0, 20.0, 20.0], [1, 5.0, 60.0, 30.0, 95.0],
                     [0, 60.0, 5.0, 95.0, 30.0], [1, 30.0, 30.0, 60.0, 60.0]])
GTS = torch.tensor([[11.0, 11.0, 41.0, 39.0], [13.0, 9.0, 42.0, 40.0], [51.0, 49.0, 91.0, 82.0],
                    [50.0, 50.0, 90.0, 82.0], [0.0] * 4, [0.0] * 4, [0.0] * 4, [28.0, 31.0, 62.0, 58.0]])


def test_bbox_head_equals_the_roi_by_roi_reference(bbox_head):
    assert bbox_head.fc_cls.out_features == 3  # C sigmoid scores, no background channel
    cls_score, bbox_pred = bbox_head(torch.randn(8, 4, 2, 2))
    labels = torch.tensor([0, 2, 1, 2, 3, 3, 3, 0])
    losses = bbox_head.loss(cls_score, bbox_pred, ROIS, labels, torch.ones(8), GTS, torch.ones(8, 4))
    targets, errors = torch.zeros(8, 3, dtype=torch.long), []
    for roi, label in enumerate(labels.tolist()):
        if label < 3:
            targets[roi, label] = 1
            box = rank_sort_tests.decode(ROIS[roi, 1:], bbox_pred[roi, 4 * label:4 * label + 4])
            errors.append(1 - rank_sort_tests.iou_and_giou(box, GTS[roi])[1])
    classification, localisation = alrp_loss_reference(cls_score, targets, torch.stack(errors))
    assert_losses(losses, dict(loss_cls=classification, loss_bbox=50 * localisation), (cls_score, bbox_pred))
    assert 'acc' in losses
    # Predictions: the C sigmoid scores and a background column of 0, which mmdet drops.
    scores = bbox_head.loss_cls.get_activation(cls_score)
    torch.testing.assert_close(scores, torch.cat([cls_score.sigmoid(), torch.zeros(8, 1)], dim=1))


def test_bbox_head_without_a_positive_roi(bbox_head):
    cls_score, bbox_pred = bbox_head(torch.randn(3, 4, 2, 2))
    losses = bbox_head.loss(cls_score, bbox_pred, ROIS[:3], torch.full((3,), 3), torch.ones(3), GTS[:3],
                            torch.ones(3, 4))
    assert losses['loss_cls'].item() == 0 and losses['loss_bbox'].item() == 0
    (losses['loss_cls'] + losses['loss_bbox']).backward()
    assert all(p.grad is not None and not p.grad.any() for p in bbox_head.parameters())


@pytest.mark.parametrize('cfg', [head_cfg(), atss_cfg(), fovea_cfg(), rpn_cfg()],
                         ids=['retina', 'atss', 'fovea', 'rpn'])
def test_dense_heads_on_a_step_without_objects(detection_batch, cfg):
    head = MODELS.build(cfg)
    feats, samples = detection_batch([([], []), ([], [])])
    losses = head.loss(feats, samples)
    assert all(value.item() == 0 for value in losses.values())
    sum(losses.values()).backward()
    assert all(p.grad is not None and not p.grad.any() for p in head.parameters())


@pytest.mark.parametrize('cfg', [atss_cfg(), fovea_cfg(), rpn_cfg(),
                                 dict(type='ALRPBBoxHead', in_channels=4, fc_out_channels=16, roi_feat_size=2,
                                      num_classes=3)], ids=['atss', 'fovea', 'rpn', 'bbox'])
def test_every_alrp_head_refuses_another_loss_and_a_bad_tau(cfg):
    name = cfg['type']
    with pytest.raises(ValueError, match=f'{name}: loss_cls must be ALRPLoss, got FocalLoss'):
        MODELS.build(dict(cfg, loss_cls=dict(type='FocalLoss', use_sigmoid=True)))
    with pytest.raises(ValueError, match=rf'{name}: tau must be in \[0, 1\), got -0.1'):
        MODELS.build(dict(cfg, tau=-0.1))


def test_a_stock_roi_head_with_alrp_loss_is_refused_at_its_first_loss():
    head = MODELS.build(dict(type='Shared2FCBBoxHead', in_channels=4, fc_out_channels=16, roi_feat_size=2,
                             num_classes=3, loss_cls=dict(type='ALRPLoss', use_sigmoid=True)))
    cls_score, bbox_pred = head(torch.randn(8, 4, 2, 2))
    with pytest.raises(ValueError, match="ALRPLoss needs each positive's localisation error.*ALRPBBoxHead"):
        head.loss(cls_score, bbox_pred, ROIS, torch.tensor([0, 2, 1, 2, 3, 3, 3, 0]), torch.ones(8), GTS,
                  torch.ones(8, 4))
