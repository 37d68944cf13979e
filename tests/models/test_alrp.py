"""aLRP's mmdet modules (Oksuz et al., NeurIPS 2020): ALRPRetinaHead against an anchor-by-anchor
reference of the authors' aLRPLossRetinaHead step, the self-balance weight and its hook, and the
refusals."""
import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

pytest.importorskip('mmdet', reason='the mmdet modules need mmdet (the op tests do not)')

from mmdet.registry import HOOKS, MODELS  # noqa: E402
from mmengine.config import ConfigDict  # noqa: E402

import mmdet_losses  # noqa: E402,F401  (registers the modules)
from mmdet_losses.functional import alrp_loss_reference  # noqa: E402
from mmdet_losses.models import SelfBalance  # noqa: E402

HERE = Path(__file__).parent
spec = importlib.util.spec_from_file_location('rank_sort_tests', HERE / 'test_rank_sort.py')
rank_sort_tests = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rank_sort_tests)

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


def anchor_by_anchor_reference(head, cls_scores, bbox_preds, samples):
    """The authors' step written one anchor at a time: rows read from the output maps by (level,
    image, y, x, anchor), each positive's error 1 - GIoU of its decoded box, the ranking by the loop."""
    metas = [s.metainfo for s in samples]
    anchor_list, valid = head.get_anchors([s.shape[-2:] for s in cls_scores], metas, device=cls_scores[0].device)
    per_level_anchors = [[level.clone() for level in image] for image in anchor_list]
    labels, label_weights, bbox_targets = head.get_targets(anchor_list, valid, [s.gt_instances for s in samples],
                                                           metas)[:3]
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
                            errors.append(1 - giou)
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
        return SimpleNamespace(train_loop=loop, model=model, iter=iteration, train_dataloader=[0] * iterations_per_epoch)
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
