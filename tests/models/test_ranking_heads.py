"""Ranking losses in mmdet's stock heads (mmdet_losses.models.ranking_heads): one ranking of every
entry a head's loss_cls calls receive in one step, logged once, with that ranking's gradients;
separate prediction sets (DETR layers) stay separate; RoI heads predict per-class sigmoid scores;
heads that cannot rank are refused when built; heads without a ranking loss are untouched."""
import importlib.util
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

pytest.importorskip('mmdet', reason='the mmdet modules need mmdet (the op tests do not)')

from mmdet.registry import MODELS  # noqa: E402
from mmengine.config import ConfigDict  # noqa: E402

import mmdet_losses  # noqa: E402,F401  (registers the modules)
from mmdet_losses.functional import ap_loss, rank_sort_loss  # noqa: E402
from mmdet_losses.models import RankingCalls, RankingLoss, register_ranking_head  # noqa: E402

HERE = Path(__file__).parent
spec = importlib.util.spec_from_file_location('stock_heads', HERE / 'stock_heads.py')
stock_heads = importlib.util.module_from_spec(spec)
spec.loader.exec_module(stock_heads)

AP_LOSS = dict(type='APLoss', use_sigmoid=True)
RANK_SORT = dict(type='RankSortLoss', use_sigmoid=True)


def record_calls(loss: RankingLoss) -> list:
    """Keeps the (scores, targets) of each call of ``loss``, as it ranks them."""
    calls = []
    ranking_inputs = loss.ranking_inputs

    def recording(*args, **kwargs):
        calls.append(ranking_inputs(*args, **kwargs))
        return calls[-1]
    loss.ranking_inputs = recording
    return calls


@pytest.mark.parametrize('name', stock_heads.CONFIGS)
def test_one_ranking_per_step_in_every_stock_dense_head(name):
    quality = name in stock_heads.QUALITY_HEADS
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        head = stock_heads.build_head(name, RANK_SORT if quality else AP_LOSS)
    assert not any('RankSortLoss' in str(warning.message) for warning in caught)
    assert type(head).__name__ == name
    calls = record_calls(head.loss_cls)
    feats, samples = stock_heads.step_inputs(name, head)
    losses = head.loss(feats, samples)
    value = losses['loss_rpn_cls' if name == 'RPNHead' else 'loss_cls']
    assert value.dim() == 0 and calls

    scores = torch.cat([scores for scores, _ in calls])
    targets = torch.cat([targets for _, targets in calls])
    assert (targets > 0).any()
    if quality:
        # The quality reaches the ranking: the positives' sorting targets, not all 1.
        positives = targets[targets > 0]
        assert (positives < 1).any() and (positives <= 1).all()
        expected = sum(rank_sort_loss(scores, targets, 0.5))
    else:
        expected = ap_loss(scores, targets)
    torch.testing.assert_close(value, expected, rtol=1e-6, atol=1e-7)

    parameters = [p for p in head.parameters() if p.requires_grad]
    actual_grads = torch.autograd.grad(value, parameters, retain_graph=True, allow_unused=True)
    expected_grads = torch.autograd.grad(expected, parameters, retain_graph=True, allow_unused=True)
    assert any(g is not None and g.abs().max() > 0 for g in actual_grads)
    for actual, wanted in zip(actual_grads, expected_grads):
        assert (actual is None) == (wanted is None)
        if actual is not None:
            torch.testing.assert_close(actual, wanted, rtol=1e-5, atol=1e-7)
    if len(calls) > 1:
        # The check has teeth: the per-call rankings' sum (what the head summed before) differs.
        loss = rank_sort_loss if quality else ap_loss
        separate = sum(sum(loss(s, t, 0.5)) if quality else loss(s, t) for s, t in calls)
        assert abs(separate.item() - value.item()) > 1e-3


@pytest.mark.slow  # launches a process
def test_heads_without_a_ranking_loss_are_unchanged(tmp_path):
    """Every stock head above with its own config's loss gives the same losses and gradients in a
    process that never imports mmdet_losses."""
    out = tmp_path / 'stock.pt'
    script = (f'import importlib.util, sys, torch\n'
              f'spec = importlib.util.spec_from_file_location("stock_heads", {str(HERE / "stock_heads.py")!r})\n'
              f'module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n'
              f'results = {{name: module.losses_and_gradients(name) for name in module.CONFIGS}}\n'
              f'assert not any(m.startswith("mmdet_losses") for m in sys.modules)\n'
              f'torch.save(results, {str(out)!r})\n')
    subprocess.run([sys.executable, '-c', script], check=True, cwd=tmp_path)
    without = torch.load(out)
    for name in stock_heads.CONFIGS:
        losses, grads = stock_heads.losses_and_gradients(name)
        assert losses == without[name][0], name
        assert grads.keys() == without[name][1].keys()
        for key, grad in grads.items():
            assert torch.equal(grad, without[name][1][key]), f'{name}: {key}'


def test_targets_as_labels_tuples_and_dense_rows():
    loss = MODELS.build(RANK_SORT)
    scores = torch.randn(4, 3)
    labels = torch.tensor([0, 3, 2, 1])
    weight = torch.tensor([1.0, 1.0, 1.0, 0.0])
    _, plain = loss.ranking_inputs(scores, labels, weight)
    torch.testing.assert_close(plain, torch.tensor([[1, 0, 0], [0, 0, 0], [0, 0, 1], [-1, -1, -1]]).float())
    _, tupled = loss.ranking_inputs(scores, (labels, torch.tensor([0.5, 0.9, 0.0, 0.7])), weight)
    torch.testing.assert_close(tupled, torch.tensor([[0.5, 0, 0], [0, 0, 0], [1e-6, 0, 0.0], [-1, -1, -1]])
                               .index_put_((torch.tensor(2), torch.tensor(2)), torch.tensor(1e-6)))
    dense = torch.tensor([[0.5, 0, 0], [0, 0, 0], [0, 0, 0.25], [0, 0.7, 0]])
    _, from_dense = loss.ranking_inputs(scores, dense, weight)
    torch.testing.assert_close(from_dense, torch.tensor([[0.5, 0, 0], [0, 0, 0], [0, 0, 0.25], [-1, -1, -1]]))
    ap = MODELS.build(AP_LOSS)
    for target in ((labels, torch.rand(4)), dense):
        _, targets = ap.ranking_inputs(scores, target, weight)
        assert targets.dtype == torch.int8 and targets.tolist() == plain.to(torch.int8).tolist()
    with pytest.raises(ValueError, match=r'APLoss: a dense target must be in \[0, 1\], got 2.0 at \(0, 1\)'):
        ap(scores, torch.tensor([[0.0, 2.0, 0.0]] * 4))


def test_tood_in_its_initial_epochs_keeps_its_initial_loss():
    """Before ``initial_epoch`` TOOD calls ``initial_loss_cls`` (focal loss) and never its
    ``loss_cls``: the step has no ranking and the focal values stay."""
    from mmengine.logging import MessageHub
    head = stock_heads.build_head('TOODHead', RANK_SORT)
    MessageHub.get_current_instance().update_info('epoch', 0)
    calls = record_calls(head.loss_cls)
    losses = head.loss(*stock_heads.step_inputs('TOODHead', head))
    assert not calls and isinstance(losses['loss_cls'], list) and sum(losses['loss_cls']) > 0


def test_tood_probabilities_are_ranked_as_logits():
    head = stock_heads.build_head('TOODHead', RANK_SORT)
    feats, samples = stock_heads.step_inputs('TOODHead', head)
    calls = record_calls(head.loss_cls)
    probabilities = head(feats)[0]
    head.loss(feats, samples)
    first_level = probabilities[0].permute(0, 2, 3, 1).reshape(-1, 3)
    torch.testing.assert_close(calls[0][0].sigmoid(), first_level.clamp(1e-6, 1 - 1e-6), rtol=1e-4, atol=1e-6)


def test_rank_sort_warns_where_the_head_passes_no_quality():
    with pytest.warns(UserWarning, match='RetinaHead passes labels without a quality to RankSortLoss'):
        stock_heads.build_head('RetinaHead', RANK_SORT)


@pytest.mark.parametrize('name, config, expected', [
    ('PAAHead', 'paa/paa_r50_fpn_1x_coco.py', 'use ValueBalancedPAAHead'),
    ('FSAFHead', 'fsaf/fsaf_r50_fpn_1x_coco.py', 'use RetinaHead'),
    ('AutoAssignHead', 'autoassign/autoassign_r50-caffe_fpn_1x_coco.py', 'use FCOSHead'),
    ('CenterNetUpdateHead', 'centernet/centernet-update_r50-caffe_fpn_ms-1x_coco.py', 'heat map'),
    ('FreeAnchorRetinaHead', 'free_anchor/freeanchor_r50_fpn_1x_coco.py', 'use RetinaHead'),
    ('LDHead', 'ld/ld_r18-gflv1-r101_fpn_1x_coco.py', 'LDHead changes how the losses are computed'),
])
def test_heads_that_cannot_rank_are_refused_when_built(name, config, expected):
    head = stock_heads.mmdet_config(config).model.bbox_head
    head.update(num_classes=3)
    head['loss_cls'] = AP_LOSS
    with pytest.raises(ValueError, match=rf'{name} cannot use a ranking loss as loss_cls: .*{expected}.*Heads that '
                                         r'can: .*RetinaHead'):
        MODELS.build(head)


def test_ssd_head_points_to_the_sigmoid_ssd_head(ssd_head_cfg):
    head = MODELS.build(ssd_head_cfg('SSDHead'))
    with pytest.raises(ValueError, match='SSDHead cannot use a ranking loss as loss_cls: .*SigmoidSSDHead'):
        head.loss_cls = MODELS.build(AP_LOSS)


def test_a_ranking_loss_is_only_a_loss_cls():
    head = stock_heads.head_config('TOODHead', AP_LOSS)
    head['initial_loss_cls'] = AP_LOSS
    with pytest.raises(ValueError, match=r"TOODHead.initial_loss_cls: a ranking loss \(APLoss\) can only be a "
                                         "head's loss_cls"):
        MODELS.build(head)


def test_a_head_that_mixes_terms_into_loss_cls_is_stopped(retina_head_cfg, detection_batch):
    from mmdet.models.dense_heads import RetinaHead

    @register_ranking_head
    class OffsetRetinaHead(RetinaHead):
        def loss_by_feat(self, *args, **kwargs):
            losses = super().loss_by_feat(*args, **kwargs)
            losses['loss_cls'] = [value + 1 for value in losses['loss_cls']]
            return losses

    head = OffsetRetinaHead(**{k: v for k, v in retina_head_cfg(loss_cls=AP_LOSS).items() if k != 'type'})
    with pytest.raises(RuntimeError, match="OffsetRetinaHead: its 'loss_cls' entry mixes other terms"):
        head.loss(*detection_batch([([[4.0, 4.0, 36.0, 40.0]], [1])]))


def test_detr_layers_are_separate_rankings():
    """DETRHead calls loss_cls once per decoder layer over all images: each call its own ranking."""
    from mmdet.structures.bbox import bbox_xyxy_to_cxcywh
    from mmengine.structures import InstanceData
    torch.manual_seed(0)
    head = MODELS.build(dict(
        type='DETRHead', num_classes=3, embed_dims=16, loss_cls=AP_LOSS,
        train_cfg=dict(assigner=dict(type='HungarianAssigner', match_costs=[
            dict(type='FocalLossCost', weight=2.0), dict(type='BBoxL1Cost', weight=5.0, box_format='xywh'),
            dict(type='IoUCost', iou_mode='giou', weight=2.0)]))))
    layers, images, queries = 3, 2, 10
    cls_scores = torch.randn(layers, images, queries, 3, requires_grad=True)
    boxes = bbox_xyxy_to_cxcywh(torch.tensor([[0.1, 0.1, 0.5, 0.6], [0.4, 0.3, 0.9, 0.8]]))
    box_preds = (boxes.repeat(5, 1) + 0.05 * torch.randn(queries, 4)).clamp(0, 1).expand(layers, images, -1, -1)
    gts = [InstanceData(bboxes=torch.tensor([[10.0, 10.0, 50.0, 60.0]]), labels=torch.tensor([2])),
           InstanceData(bboxes=torch.tensor([[10.0, 10.0, 50.0, 60.0], [40.0, 30.0, 90.0, 80.0]]),
                        labels=torch.tensor([0, 1]))]
    metas = [dict(img_shape=(100, 100))] * images
    calls = record_calls(head.loss_cls)
    losses = head.loss_by_feat(cls_scores, box_preds, gts, metas)
    assert len(calls) == layers
    keys = [f'd{layer}.loss_cls' for layer in range(layers - 1)] + ['loss_cls']
    for key, (scores, targets) in zip(keys, calls):
        assert scores.shape == (images * queries, 3) and (targets == 1).sum() == 3
        torch.testing.assert_close(losses[key], ap_loss(scores, targets))


@pytest.fixture
def roi_head():
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='Shared2FCBBoxHead', in_channels=4, fc_out_channels=16, roi_feat_size=2, num_classes=3,
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[0.1, 0.1, 0.2, 0.2]),
        reg_class_agnostic=False, loss_cls=AP_LOSS, loss_bbox=dict(type='L1Loss', loss_weight=1.0)))


def test_roi_head_ranks_its_sampled_rois_without_a_background_channel(roi_head):
    assert roi_head.fc_cls.out_features == 3 and roi_head.custom_cls_channels
    cls_score, bbox_pred = roi_head(torch.randn(8, 4, 2, 2))
    labels = torch.tensor([0, 1, 2, 3, 3, 3, 1, 3])
    rois = torch.cat([torch.zeros(8, 1), torch.tensor([[0.0, 0.0, 10.0, 10.0]]).repeat(8, 1)], 1)
    losses = roi_head.loss(cls_score, bbox_pred, rois, labels, torch.ones(8), torch.zeros(8, 4), torch.ones(8, 4))
    targets = torch.zeros(8, 3, dtype=torch.int8)
    targets[torch.arange(4), torch.tensor([0, 1, 2, 1])] = 1
    targets = torch.zeros(8, 3, dtype=torch.int8).index_put_(
        (torch.tensor([0, 1, 2, 6]), torch.tensor([0, 1, 2, 1])), torch.tensor(1, dtype=torch.int8))
    torch.testing.assert_close(losses['loss_cls'], ap_loss(cls_score, targets))
    foreground = labels < 3
    expected_acc = (cls_score[foreground].argmax(1) == labels[foreground]).float().mean() * 100
    torch.testing.assert_close(losses['acc'], expected_acc.reshape(1))


def test_roi_head_predicts_every_class_the_last_included(roi_head):
    """mmdet's multiclass_nms drops the last column of get_activation's scores as background:
    the C sigmoid scores come with a column of 0 behind them, so class C - 1 is predicted."""
    rois = torch.tensor([[0.0, 10.0, 10.0, 40.0, 40.0], [0.0, 50.0, 50.0, 90.0, 90.0]])
    cls_score = torch.tensor([[-4.0, -4.0, 5.0], [3.0, -4.0, -4.0]])
    bbox_pred = torch.zeros(2, 12)
    results = roi_head.predict_by_feat((rois,), (cls_score,), (bbox_pred,), [dict(img_shape=(100, 100))],
                                       rcnn_test_cfg=ConfigDict(score_thr=0.05, max_per_img=10,
                                                                nms=dict(type='nms', iou_threshold=0.5)),
                                       rescale=False)[0]
    assert sorted(results.labels.tolist()) == [0, 2]
    assert ((results.scores > 0) & (results.scores < 1)).all()
    torch.testing.assert_close(results.scores.sort().values, cls_score.max(1).values.sigmoid().sort().values)


def test_dense_heads_keep_per_class_scores_in_predict(retina_head_cfg, detection_batch):
    """A dense head does not read the RoI hooks: its predict still sees C sigmoid scores."""
    head = MODELS.build(retina_head_cfg(loss_cls=AP_LOSS, test_cfg=ConfigDict(
        nms_pre=100, min_bbox_size=0, score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5), max_per_img=20)))
    assert not head.loss_cls.custom_cls_channels
    feats, samples = detection_batch([([[4.0, 4.0, 36.0, 40.0]], [1])])
    result = head.predict(feats, samples)[0]
    assert result.labels.max() < 3 and ((result.scores > 0) & (result.scores < 1)).all()


def test_roi_activation_keeps_every_class_where_cascade_drops_the_last_column(roi_head):
    """Cascade R-CNN's ``refine_bboxes`` and its predict take ``get_activation(...)[:, :-1]``."""
    cls_score = torch.tensor([[-4.0, -4.0, 5.0], [3.0, -4.0, -4.0]])
    scores = roi_head.loss_cls.get_activation(cls_score)
    torch.testing.assert_close(scores[:, :-1], cls_score.sigmoid())
    assert scores[:, :-1].argmax(1).tolist() == [2, 0]


@pytest.mark.slow  # trains
def test_cascade_rcnn_trains_and_predicts_with_ranking_losses():
    from mmdet.utils import register_all_modules
    register_all_modules()
    model_cfg = stock_heads.mmdet_config('cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py').model
    model_cfg.backbone.update(depth=18, init_cfg=None)
    model_cfg.neck.in_channels = [64, 128, 256, 512]
    model_cfg.rpn_head.loss_cls = AP_LOSS
    for stage in model_cfg.roi_head.bbox_head:
        stage.update(num_classes=3)
        stage['loss_cls'] = AP_LOSS
    torch.manual_seed(0)
    model = MODELS.build(model_cfg).train()
    generator = torch.Generator().manual_seed(0)
    samples = stock_heads.data_samples(256, 2, generator)
    images = torch.randn(2, 3, 256, 256, generator=generator)
    losses = model.loss(images, samples)
    for stage in range(3):
        assert losses[f's{stage}.loss_cls'].dim() == 0 and model.roi_head.bbox_head[stage].fc_cls.out_features == 3
    stock_heads.total_loss(losses).backward()
    assert model.roi_head.bbox_head[2].fc_cls.weight.grad.abs().max() > 0
    model.eval()
    with torch.no_grad():
        result = model.predict(images, samples)[0].pred_instances
    assert len(result.scores) and ((result.scores >= 0) & (result.scores <= 1)).all() and result.labels.max() < 3


def test_a_background_channel_is_refused(roi_head):
    with pytest.raises(ValueError, match='DoubleConvFCBBoxHead cannot use a ranking loss.*background channel'):
        MODELS.build(dict(type='DoubleConvFCBBoxHead', num_convs=1, num_fcs=1, in_channels=4, conv_out_channels=8,
                          fc_out_channels=8, roi_feat_size=2, num_classes=3, loss_cls=AP_LOSS))
    with pytest.raises(ValueError, match=r'APLoss: the head has 3 classes but passes 4 scores per entry '
                                         r'\(a background channel\?\)'):
        roi_head.loss_cls(torch.randn(5, 4), torch.tensor([0, 1, 2, 3, 3]))


@pytest.mark.parametrize('loss_cls', [dict(type='AUCLoss', use_sigmoid=True), dict(type='TwoWayLoss', use_sigmoid=True),
                                      dict(type='UniLoss', use_sigmoid=True)], ids=lambda cfg: cfg['type'])
def test_every_ranking_loss_sees_the_whole_step(retina_head_cfg, detection_batch, loss_cls):
    """The other losses of one ranking (AUC-Loss, the Two-way loss, UniLoss) are gathered as
    AP-Loss is: one value for the step's entries, as the loss computes it on their concatenation."""
    head = MODELS.build(retina_head_cfg(loss_cls=loss_cls))
    calls = record_calls(head.loss_cls)
    feats, samples = detection_batch([([[4.0, 4.0, 36.0, 40.0]], [1]), ([[10.0, 8.0, 30.0, 28.0]], [2])])
    torch.manual_seed(0)  # UniLoss samples its entries
    value = head.loss(feats, samples)['loss_cls']
    assert value.dim() == 0 and len(calls) == 2
    torch.manual_seed(0)
    expected = head.loss_cls.loss(torch.cat([s for s, _ in calls]), torch.cat([t for _, t in calls]))
    torch.testing.assert_close(value, expected)
