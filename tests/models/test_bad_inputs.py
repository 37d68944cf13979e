"""The bad-input sweep over every registered loss and head: mmdet's own loss-contract calls (as in
mmdet's tests/test_models/test_losses/test_loss.py), wrong shapes and dtypes, labels outside
[0, C], non-finite predictions, empty and all-ignored input, every reduction_override, avg_factor 0,
fp16 and bf16. Each call gives a ValueError naming the argument and the value, or a finite answer."""
import copy

import pytest
import torch

pytest.importorskip('mmdet', reason='the mmdet modules need mmdet (the op tests do not)')

from mmdet.registry import MODELS  # noqa: E402

import mmdet_losses  # noqa: E402,F401  (registers the modules)

CLASSIFICATION = {
    'APLoss': dict(type='APLoss', use_sigmoid=True),
    'AUCLoss': dict(type='AUCLoss', use_sigmoid=True),
    'AnchorLoss': dict(type='AnchorLoss', use_sigmoid=True),
    'TwoWayLoss': dict(type='TwoWayLoss', use_sigmoid=True),
    'UniLoss': dict(type='UniLoss', use_sigmoid=True),
    'RankSortLoss': dict(type='RankSortLoss', use_sigmoid=True),
}
RANKING = ['APLoss', 'AUCLoss', 'TwoWayLoss', 'UniLoss', 'RankSortLoss']  # one value per call: no reduction 'none'


def call_outcome(loss, *args, **kwargs):
    """The loss's finite value, or the text of the ValueError it raised; anything else fails."""
    try:
        value = loss(*args, **kwargs)
    except ValueError as error:
        return str(error)
    assert isinstance(value, torch.Tensor) and torch.isfinite(value).all(), value
    return value


def classification_call(n=10, classes=5, seed=0, dtype=torch.float32):
    generator = torch.Generator().manual_seed(seed)
    pred = torch.randn(n, classes, generator=generator).to(dtype)
    labels = torch.randint(0, classes + 1, (n,), generator=generator)
    if n:
        labels[0] = 1
    return pred, labels


@pytest.mark.parametrize('name', CLASSIFICATION)
@pytest.mark.parametrize('n', [10, 0])
def test_mmdet_classification_contract(name, n):
    """mmdet's test_classification_losses calls: rand predictions, labels in [0, C)."""
    loss = MODELS.build(CLASSIFICATION[name])
    pred = torch.rand(n, 5)
    target = torch.randint(0, 5, (n,))
    for kwargs in (dict(), dict(reduction_override='mean'), dict(avg_factor=10)):
        assert isinstance(call_outcome(loss, pred, target, **kwargs), torch.Tensor)
    with pytest.raises(ValueError, match="avg_factor=10 cannot be used with reduction='sum'"):
        loss(pred, target, avg_factor=10, reduction_override='sum')
    for reduction in (None, 'none', 'mean'):
        outcome = call_outcome(loss, pred, target, avg_factor=10, reduction_override=reduction)
        if reduction == 'none' and name in RANKING:
            assert "reduction_override='none' is not defined for a ranking loss" in outcome
        else:
            assert isinstance(outcome, torch.Tensor)
    with pytest.raises(ValueError, match=r"reduction must be 'none', 'mean' or 'sum'.*got True"):
        loss(pred, target, reduction_override=True)
    if n == 0:
        assert loss(pred, target).item() == 0.0


@pytest.mark.parametrize('name', CLASSIFICATION)
def test_bad_classification_calls_name_the_argument_and_value(name):
    loss = MODELS.build(CLASSIFICATION[name])
    pred, labels = classification_call()
    for bad_label in (8, -1):
        bad = labels.clone()
        bad[2] = bad_label
        with pytest.raises(ValueError, match=rf'{name}: labels must be in \[0, 5\] \(5 is background\), '
                                             rf'got {bad_label} at index 2'):
            loss(pred, bad)
    with pytest.raises(ValueError, match=f'{name}: labels must be an integer tensor, got torch.float32'):
        loss(pred, labels.float())
    with pytest.raises(ValueError, match=rf'{name}: labels must have shape \(10,\).*got \(11,\)'):
        loss(pred, torch.zeros(11, dtype=torch.long))
    with pytest.raises(ValueError, match=rf'{name}: weight must have shape \(10,\) or \(10, 5\), got \(10, 4\)'):
        loss(pred, labels, torch.ones(10, 4))
    with pytest.raises(ValueError, match=rf'{name}: cls_score must have shape \(n, C\), got \(10,\)'):
        loss(pred[:, 0], labels)
    with pytest.raises(ValueError, match=f'{name}: cls_score must be a floating-point tensor, got torch.int64'):
        loss(pred.long(), labels)
    for bad_value in (float('nan'), float('inf'), float('-inf')):
        broken = pred.clone()
        broken[3, 4] = bad_value
        with pytest.raises(ValueError, match=f'{name}: cls_score must be finite, got {bad_value} at flat index 19'):
            loss(broken, labels)


@pytest.mark.parametrize('name', CLASSIFICATION)
def test_edge_cases_give_finite_answers(name):
    loss = MODELS.build(CLASSIFICATION[name])
    pred, labels = classification_call()
    pred.requires_grad_()
    ignored = loss(pred, labels, torch.zeros(10))
    ignored.backward()
    assert torch.isfinite(ignored) and torch.isfinite(pred.grad).all()
    if name in RANKING:
        assert ignored.item() == 0.0 and torch.count_nonzero(pred.grad) == 0
    assert torch.isfinite(loss(pred, labels, avg_factor=0.0))
    assert torch.isfinite(loss(pred, torch.full((10,), 5)))  # background only
    for dtype in (torch.float16, torch.bfloat16):
        low, labels = classification_call(n=64, dtype=dtype)
        torch.manual_seed(0)  # UniLoss samples its entries: the same sample for both precisions
        value = loss(low.requires_grad_(), labels)
        value.sum().backward()
        assert torch.isfinite(value).all() and torch.isfinite(low.grad).all()
        torch.manual_seed(0)
        reference = loss(low.detach().float(), labels)
        torch.testing.assert_close(value.float(), reference, rtol=0.03, atol=0.03)


@pytest.mark.parametrize('n', [10, 0])
def test_mmdet_regression_contract_harmonic_iou_loss(n):
    """mmdet's test_regression_losses and test_iou_type_loss_zeros_weight calls."""
    loss = MODELS.build(dict(type='HarmonicIoULoss'))
    pred, target, weight = torch.rand(n, 4), torch.rand(n, 4), torch.rand(n, 4)
    for args, kwargs in (((), {}), ((weight,), {}), ((), dict(reduction_override='mean')),
                         ((), dict(avg_factor=10))):
        assert isinstance(call_outcome(loss, pred, target, *args, **kwargs), torch.Tensor)
    with pytest.raises(ValueError, match="avg_factor=10 cannot be used with reduction='sum'"):
        loss(pred, target, avg_factor=10, reduction_override='sum')
    for reduction in (None, 'none', 'mean'):
        assert isinstance(call_outcome(loss, pred, target, avg_factor=10, reduction_override=reduction),
                          torch.Tensor)
    assert loss(pred, target, torch.zeros(n)).item() == 0.0
    if n == 0:
        assert loss(pred, target).item() == 0.0


def test_bad_harmonic_iou_loss_calls():
    loss = MODELS.build(dict(type='HarmonicIoULoss'))
    boxes = torch.tensor([[0.0, 0.0, 4.0, 4.0]] * 6)
    with pytest.raises(ValueError, match=r'weight must have shape \(6,\) or \(6, 4\), got \(5,\)'):
        loss(boxes, boxes + 1, torch.ones(5))
    with pytest.raises(ValueError, match=r'pred must have shape \(n, 4\), got \(6, 3\)'):
        loss(boxes[:, :3], boxes[:, :3])
    for bad_value in (float('nan'), float('inf')):
        broken = boxes.clone()
        broken[1, 2] = bad_value
        with pytest.raises(ValueError, match=f'pred must be finite, got {bad_value} at flat index 6'):
            loss(broken, boxes)
    with pytest.raises(ValueError, match="reduction must be 'none', 'mean' or 'sum'.*got 'median'"):
        loss(boxes, boxes, reduction_override='median')
    assert torch.isfinite(loss(boxes, boxes + 1, avg_factor=0.0))
    for dtype in (torch.float16, torch.bfloat16):
        value = loss(boxes.to(dtype), (boxes + 1).to(dtype))
        torch.testing.assert_close(value.float(), loss(boxes, boxes + 1), rtol=0.02, atol=0.02)


TWO_IMAGES = [([[4.0, 4.0, 36.0, 40.0]], [1]),
              ([[10.0, 8.0, 30.0, 28.0], [32.0, 30.0, 60.0, 62.0]], [0, 2])]


@pytest.fixture
def heads(retina_head_cfg, ssd_head_cfg):
    return {
        'HarmonicRetinaHead': retina_head_cfg(type='HarmonicRetinaHead'),
        'HarmonicSSDHead': ssd_head_cfg('HarmonicSSDHead'),
        'ConfigurableSSDHead': ssd_head_cfg('ConfigurableSSDHead'),
        'ValueBalancedATSSHead': retina_head_cfg(
            type='ValueBalancedATSSHead', norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
            anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=4, scales_per_octave=3,
                                  strides=[8, 16]),
            loss_cls=dict(type='RankSortLoss', use_sigmoid=True), loss_bbox=dict(type='GIoULoss'),
            train_cfg=dict(assigner=dict(type='ATSSAssigner', topk=9), allowed_border=-1, pos_weight=-1)),
        'ValueBalancedRPNHead': {key: value for key, value in retina_head_cfg(
            type='ValueBalancedRPNHead', num_classes=1,
            anchor_generator=dict(type='AnchorGenerator', scales=[4], ratios=[0.5, 1.0, 2.0], strides=[8, 16]),
            loss_cls=dict(type='RankSortLoss', use_sigmoid=True), loss_bbox=dict(type='GIoULoss')).items()
            if key != 'stacked_convs'},
        'ValueBalancedPAAHead': retina_head_cfg(
            type='ValueBalancedPAAHead', norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
            anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=4, scales_per_octave=3,
                                  strides=[8, 16]),
            loss_cls=dict(type='RankSortLoss', use_sigmoid=True), loss_bbox=dict(type='GIoULoss'),
            train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.1, neg_iou_thr=0.1, min_pos_iou=0,
                                         ignore_iof_thr=-1), allowed_border=-1, pos_weight=-1)),
        'ALRPRetinaHead': retina_head_cfg(type='ALRPRetinaHead', loss_cls=ALRP, loss_bbox=dict(type='GIoULoss')),
        'ALRPATSSHead': retina_head_cfg(
            type='ALRPATSSHead', norm_cfg=None, loss_cls=ALRP, loss_bbox=dict(type='GIoULoss'),
            train_cfg=dict(assigner=dict(type='ATSSAssigner', topk=9), allowed_border=-1, pos_weight=-1)),
        'ALRPRPNHead': {key: value for key, value in retina_head_cfg(
            type='ALRPRPNHead', num_classes=1, loss_cls=ALRP, loss_bbox=dict(type='GIoULoss')).items()
            if key != 'stacked_convs'},
        'ALRPFoveaHead': dict(type='ALRPFoveaHead', num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1,
                              strides=[8, 16], base_edge_list=[16, 32], scale_ranges=((1, 32), (16, 64))),
    }


ALRP = dict(type='ALRPLoss', use_sigmoid=True)
HEADS = ['HarmonicRetinaHead', 'HarmonicSSDHead', 'ConfigurableSSDHead', 'ValueBalancedATSSHead',
         'ValueBalancedRPNHead', 'ValueBalancedPAAHead', 'ALRPRetinaHead', 'ALRPATSSHead', 'ALRPRPNHead',
         'ALRPFoveaHead']


@pytest.mark.parametrize('name', HEADS)
def test_heads_refuse_non_finite_predictions(name, heads, detection_batch):
    torch.manual_seed(0)
    head = MODELS.build(heads[name])
    feats, samples = detection_batch(TWO_IMAGES)
    cls_scores, bbox_preds = head(feats)
    for argument, outputs in (('cls_scores', cls_scores), ('bbox_preds', bbox_preds)):
        broken = [level.detach().clone() for level in outputs]
        broken[1].view(-1)[7] = float('nan')
        args = (broken, bbox_preds) if argument == 'cls_scores' else (cls_scores, broken)
        with pytest.raises(ValueError, match=rf'{name}.loss_by_feat: {argument}\[1\] must be finite, got nan at flat index 7'):
            head.loss_by_feat(*args, [s.gt_instances for s in samples], [s.metainfo for s in samples])


@pytest.mark.parametrize('name', HEADS)
def test_one_bf16_autocast_step_is_finite_and_close_to_fp32(name, heads, detection_batch, assert_bf16_losses_close):
    torch.manual_seed(0)
    head = MODELS.build(heads[name])
    feats, samples = detection_batch(TWO_IMAGES)
    for sample in samples:
        sample.gt_instances.labels %= head.num_classes  # the RPN has one class
    full = {key: sum(value) if isinstance(value, list) else value
            for key, value in head.loss(feats, copy.deepcopy(samples)).items()}
    with torch.autocast('cpu', dtype=torch.bfloat16):
        low = {key: sum(value) if isinstance(value, list) else value
               for key, value in head.loss(feats, copy.deepcopy(samples)).items()}
    sum(low.values()).backward()
    assert_bf16_losses_close(low, full)
    assert all(torch.isfinite(p.grad).all() for p in head.parameters() if p.grad is not None)


@pytest.mark.parametrize('head_type', ['RetinaHead', 'SigmoidSSDHead'])
def test_stock_heads_with_a_ranking_loss_refuse_non_finite_scores(head_type, retina_head_cfg, ssd_head_cfg,
                                                                  detection_batch):
    """The gathered calls check their scores as a single call does: the loss names the value."""
    cfg = (retina_head_cfg(loss_cls=dict(type='APLoss', use_sigmoid=True)) if head_type == 'RetinaHead'
           else ssd_head_cfg(head_type))
    head = MODELS.build(cfg)
    feats, samples = detection_batch(TWO_IMAGES)
    cls_scores, bbox_preds = head(feats)
    broken = [level.detach().clone() for level in cls_scores]
    broken[1].view(-1)[7] = float('nan')
    with pytest.raises(ValueError, match='APLoss: cls_score must be finite, got nan'):
        head.loss_by_feat(broken, bbox_preds, [s.gt_instances for s in samples], [s.metainfo for s in samples])
