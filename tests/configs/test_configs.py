"""Every shipped config parses, builds its model on CPU, and trains on complete datasets; each
baseline has exactly the data and schedule of its AP-Loss or Harmonic twin."""
from pathlib import Path

import pytest

pytest.importorskip('mmdet', reason='the configs need mmdet')

from mmdet.registry import MODELS  # noqa: E402
from mmengine.config import Config  # noqa: E402

import mmdet_losses  # noqa: E402,F401  (registers the modules)

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
SHIPPED = sorted(p for p in CONFIGS.rglob('*.py') if '_base_' not in p.parts)
DEMO_FOCAL = 'demo/retinanet_r18_fpn_focal_1xb8-1100i_demo.py'
MMDET_RETINANET_COCO = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
MMDET_RETINANET_VOC = 'mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py'
# Each classification-loss folder and the loss field of its config names.
FAMILY_NAME = dict(anchor_loss='anchor-loss', two_way='two-way', uniloss='uniloss')
# (config, its baseline): they differ in the head and its losses only (AP-Loss: and learning rate).
TWINS = [
    ('aploss/retinanet_r50_fpn_aploss_8xb2-100e_coco-512.py', 'aploss/retinanet_r50_fpn_focal_8xb2-100e_coco-512.py'),
    ('aploss/retinanet_r101_fpn_aploss_8xb2-100e_coco-512.py',
     'aploss/retinanet_r101_fpn_focal_8xb2-100e_coco-512.py'),
    ('aploss/retinanet_r50_fpn_aploss_8xb2-160e_voc0712-512.py',
     'aploss/retinanet_r50_fpn_focal_8xb2-160e_voc0712-512.py'),
    ('aploss/ssd_vgg16_aploss_2xb8-160e_voc0712-300.py', 'aploss/ssd_vgg16_2xb8-160e_voc0712-300.py'),
    ('aploss/ssd_vgg16_aploss_2xb8-160e_voc0712-512.py', 'aploss/ssd_vgg16_2xb8-160e_voc0712-512.py'),
    # The rows of the AP-Loss paper's SSD table share data, schedule and learning rate.
    ('aploss/ssd_vgg16_focal_2xb8-160e_voc0712-512.py', 'aploss/ssd_vgg16_2xb8-160e_voc0712-512.py'),
    ('aploss/ssd_vgg16_auc_2xb8-160e_voc0712-512.py', 'aploss/ssd_vgg16_2xb8-160e_voc0712-512.py'),
    ('aploss/ssd_vgg16_aploss_2xb8-100e_coco-512.py', 'aploss/ssd_vgg16_2xb8-100e_coco-512.py'),
    ('demo/retinanet_r18_fpn_aploss_1xb8-1100i_demo.py', DEMO_FOCAL),
    ('alrp/retinanet_r18_fpn_alrp_1xb8-1100i_demo.py', DEMO_FOCAL),
    ('harmonic/retinanet_r50_fpn_harmonic_8xb2-1x_coco.py', MMDET_RETINANET_COCO),
    ('harmonic/retinanet_r50_fpn_harmonic-hiou_8xb2-1x_coco.py', MMDET_RETINANET_COCO),
    ('harmonic/retinanet_r50_fpn_harmonic_8xb2-1x_voc0712.py', MMDET_RETINANET_VOC),
    ('harmonic/retinanet_r50_fpn_harmonic-hiou_8xb2-1x_voc0712.py', MMDET_RETINANET_VOC),
    ('harmonic/ssd_vgg16_harmonic_8xb8-240e_voc0712-300.py', 'harmonic/ssd_vgg16_8xb8-240e_voc0712-300.py'),
    ('harmonic/ssd_vgg16_harmonic-hiou_8xb8-240e_voc0712-300.py', 'harmonic/ssd_vgg16_8xb8-240e_voc0712-300.py'),
    ('harmonic/ssd_vgg16_harmonic_8xb8-240e_voc0712-512.py', 'harmonic/ssd_vgg16_8xb8-240e_voc0712-512.py'),
    ('harmonic/ssd_vgg16_harmonic-hiou_8xb8-240e_voc0712-512.py', 'harmonic/ssd_vgg16_8xb8-240e_voc0712-512.py'),
    ('harmonic/retinanet_r18_fpn_harmonic_1xb8-1100i_demo.py', DEMO_FOCAL),
    ('harmonic/retinanet_r18_fpn_harmonic-hiou_1xb8-1100i_demo.py', DEMO_FOCAL),
    ('rank_sort/rs_atss_r18_fpn_1xb8-1100i_demo.py', 'rank_sort/atss_r18_fpn_1xb8-1100i_demo.py'),
    ('rank_sort/rs_dino_r18_1xb8-1100i_demo.py', 'rank_sort/dino_r18_1xb8-1100i_demo.py'),
    ('rank_sort/atss_r50_fpn_8xb2-1x_coco.py', 'mmdet::atss/atss_r50_fpn_1x_coco.py'),
] + [
    (f'{family}/retinanet_r50_fpn_{name}_8xb2-1x_coco.py', MMDET_RETINANET_COCO)
    for family, name in FAMILY_NAME.items()
] + [
    (f'{family}/retinanet_r50_fpn_{name}_8xb2-1x_voc0712.py', MMDET_RETINANET_VOC)
    for family, name in FAMILY_NAME.items()
] + [
    (f'{family}/retinanet_r18_fpn_{name}_1xb8-1100i_demo.py', DEMO_FOCAL)
    for family, name in FAMILY_NAME.items()
]
# Each config folder's classification loss.
FAMILY_LOSS = dict(anchor_loss='AnchorLoss', two_way='TwoWayLoss', uniloss='UniLoss')


def leaf_datasets(dataset):
    """The datasets that read files, under Repeat/Concat wrappers."""
    if 'datasets' in dataset:
        return [leaf for child in dataset['datasets'] for leaf in leaf_datasets(child)]
    if 'dataset' in dataset:
        return leaf_datasets(dataset['dataset'])
    return [dataset]


# Configs without a baseline twin.
SINGLES = ['demo/ssd_r18_fpn_aploss_1xb8-1100i_demo.py', 'harmonic/ssd_r18_fpn_harmonic_1xb8-1100i_demo.py',
           'aploss/retinanet_r101_fpn_aploss_8xb2-100e_coco-512_test-dev.py',
           # their baselines: test_one_stage_rank_sort_follows_the_authors, test_rs_rcnn_follows_the_authors
           'rank_sort/rs_atss_r50_fpn_4xb4-1x_coco.py', 'rank_sort/rs_faster-rcnn_r50_fpn_4xb4-1x_coco.py',
           'rank_sort/rs_mask-rcnn_r50_fpn_4xb4-1x_coco.py', 'rank_sort/rs_cascade-rcnn_r50_fpn_4xb4-1x_coco.py',
           'rank_sort/rs_mask-rcnn_r101_fpn_ms-640-800-3x_coco.py', 'rank_sort/rs_paa_r50_fpn_4xb4-1x_coco.py',
           # their baselines: test_rs_yolact_follows_the_authors, test_rs_solov2_follows_the_authors
           'rank_sort/rs_yolact_r50_1xb8-55e_coco.py', 'rank_sort/rs_solov2_r101_fpn_4xb4-ms-3x_coco.py',
           'rank_sort/rs_solov2-light_r34_fpn_4xb8-ms-3x_coco.py',
           # their baselines: test_rs_detrs_change_only_the_head_and_its_loss
           'rank_sort/rs_dino-4scale_r50_8xb2-12e_coco.py', 'rank_sort/rs_deformable-detr_r50_16xb2-50e_coco.py',
           # their baselines: test_alrp_retinanet_follows_the_authors, test_alrp_detectors_follow_the_authors
           'alrp/retinanet_r50_fpn_alrp_4xb8-100e_coco-512.py',
           'alrp/retinanet_r50_fpn_alrp-atss_4xb8-100e_coco-512.py',
           'alrp/fovea_r50_fpn_alrp_4xb8-100e_coco-512.py', 'alrp/faster-rcnn_r50_fpn_alrp_4xb8-100e_coco-512.py',
           # a pair without a bbox_head (test_the_pair_differs_in_the_rank_sort_heads_only in
           # tests/tools/test_demo_instance_segmentation.py)
           'rank_sort/rs_mask-rcnn_r18_fpn_1xb8-800i_demo.py', 'rank_sort/mask-rcnn_r18_fpn_1xb8-800i_demo.py',
           # the same (test_the_solov2_pair_differs_in_the_rank_sort_head_only there)
           'rank_sort/rs_solov2_r18_fpn_1xb8-1600i_demo.py', 'rank_sort/solov2_r18_fpn_1xb8-1600i_demo.py']
# mmdet's own configs with a ranking loss as loss_cls, and the config of mmdet each one swaps the loss of
# (test_any_detector_swaps_only_the_loss; tests/configs/test_any_detector_configs.py trains them).
ANY_DETECTOR = {
    'any_detector/retinanet_r50_fpn_aploss_1x_coco.py': MMDET_RETINANET_COCO,
    'any_detector/atss_r50_fpn_aploss_1x_coco.py': 'mmdet::atss/atss_r50_fpn_1x_coco.py',
    'any_detector/atss_r50_fpn_ranksort_1x_coco.py': 'mmdet::atss/atss_r50_fpn_1x_coco.py',
    'any_detector/fcos_r50-caffe_fpn_gn-head_aploss_1x_coco.py': 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py',
    'any_detector/gfl_r50_fpn_aploss_1x_coco.py': 'mmdet::gfl/gfl_r50_fpn_1x_coco.py',
    'any_detector/gfl_r50_fpn_ranksort_1x_coco.py': 'mmdet::gfl/gfl_r50_fpn_1x_coco.py',
    'any_detector/rtmdet_tiny_ranksort_8xb32-300e_coco.py': 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
    'any_detector/faster-rcnn_r50_fpn_aploss_1x_coco.py': 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    'any_detector/faster-rcnn_r50_fpn_ranksort_1x_coco.py': 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    'any_detector/mask-rcnn_r50_fpn_aploss_1x_coco.py': 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
}


def load(name, tmp_path):
    """A config of configs/, or of mmdet's ('mmdet::...'), which mmengine reads only as a base."""
    if name.startswith('mmdet::'):
        child = tmp_path / 'mmdet_config.py'
        child.write_text(f'_base_ = {name!r}\n')
        return Config.fromfile(child)
    return Config.fromfile(CONFIGS / name)


def test_every_config_is_covered():
    assert len(SHIPPED) == 75
    covered = {name for pair in TWINS for name in pair if not name.startswith('mmdet::')} | set(SINGLES)
    covered |= set(ANY_DETECTOR)
    assert covered == {str(p.relative_to(CONFIGS)) for p in SHIPPED}


@pytest.mark.parametrize('path', SHIPPED, ids=lambda p: str(p.relative_to(CONFIGS)))
def test_builds_its_model_and_names_complete_datasets(path):
    cfg = Config.fromfile(path)
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for dataset in leaf_datasets(cfg[split]['dataset']):
            assert dataset.get('ann_file') and dataset.get('data_root') and dataset.get('pipeline'), dataset
    if 'aploss' in path.name and path.parent.name != 'any_detector':
        # mmdet's RetinaHead and SigmoidSSDHead rank all levels and images of a step as one.
        assert cfg.model.bbox_head.type in ('RetinaHead', 'SigmoidSSDHead')
        assert cfg.model.bbox_head.loss_cls.type == 'APLoss'
        assert 'mmdet_losses' in cfg.custom_imports.imports
    if path.name.startswith('ssd_vgg16_') and path.name.endswith('_2xb8-160e_voc0712-512.py'):
        # The SSD table's rows: AP over IoU 0.50:0.05:0.95 on VOC07 test.
        assert cfg.val_evaluator.iou_thrs == [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]
    if 'harmonic' in path.name:
        assert cfg.model.bbox_head.type in ('HarmonicRetinaHead', 'HarmonicSSDHead')
    if 'hiou' in path.name:
        assert cfg.model.bbox_head.loss_bbox.type == 'HarmonicIoULoss' and cfg.model.bbox_head.reg_decoded_bbox
    family = path.parent.name
    if family in FAMILY_LOSS:
        assert cfg.model.bbox_head.loss_cls.type == FAMILY_LOSS[family]
    if 'bbox_head' in cfg.model:
        assert cfg.model.bbox_head.type != 'SSDHead', 'mmdet 3.3.0 SSDHead cannot predict: ConfigurableSSDHead'
    assert cfg.auto_scale_lr.base_batch_size > 0


@pytest.mark.parametrize('ours, baseline', TWINS, ids=[pair[0] for pair in TWINS])
def test_baseline_has_the_same_data_and_schedule(ours, baseline, tmp_path):
    # AP-Loss trains at its paper's learning rate (in the demo, each loss at its own best of a
    # sweep); the Harmonic loss at its baseline's.
    differ_in_lr = 'aploss' in ours
    ours, theirs = load(ours, tmp_path).to_dict(), load(baseline, tmp_path).to_dict()
    for cfg in (ours, theirs):
        del cfg['model']['bbox_head']
        if differ_in_lr:
            cfg['optim_wrapper']['optimizer'].pop('lr')
        cfg.pop('custom_imports', None)
        # The aLRP head's self-balance weight is updated by its hook: part of the head.
        if cfg.get('custom_hooks') == [dict(type='ALRPSelfBalanceHook')]:
            cfg.pop('custom_hooks')
    assert ours == theirs


# The stock-SSD baselines of the AP-Loss SSD configs: mmdet's SSD config of their dataset and size
# (whose data our SSD dataset bases write out), but for the paper's schedule and real epochs.
MMDET_SSD = [('aploss/ssd_vgg16_2xb8-160e_voc0712-300.py', 'mmdet::pascal_voc/ssd300_voc0712.py'),
             ('aploss/ssd_vgg16_2xb8-160e_voc0712-512.py', 'mmdet::pascal_voc/ssd512_voc0712.py'),
             ('aploss/ssd_vgg16_2xb8-100e_coco-512.py', 'mmdet::ssd/ssd512_coco.py')]


def plain(value):
    """A config value without mmengine's marks of the package it was read from, tuples as lists."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items() if key != '_scope_'}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


@pytest.mark.parametrize('ours, mmdet_ssd', MMDET_SSD, ids=[pair[0] for pair in MMDET_SSD])
def test_ssd_baseline_is_mmdets_ssd_but_for_the_schedule(ours, mmdet_ssd, tmp_path):
    # The SSD table's evaluation (test_builds_its_model_and_names_complete_datasets).
    evaluation = {'voc_iou_thresholds', 'val_evaluator', 'test_evaluator'} if 'voc0712-512' in ours else set()
    ours, theirs = plain(load(ours, tmp_path).to_dict()), plain(load(mmdet_ssd, tmp_path).to_dict())
    assert ours['train_dataloader']['dataset'].pop('times') == 1
    theirs['train_dataloader']['dataset'].pop('times')
    assert ours['model']['bbox_head'].pop('type') == 'ConfigurableSSDHead'
    theirs['model']['bbox_head'].pop('type')
    schedule = {'max_epochs', 'train_cfg', 'optim_wrapper', 'param_scheduler', 'auto_scale_lr'}
    for key in schedule | evaluation | {'custom_imports'}:
        ours.pop(key)
        theirs.pop(key, None)
    assert ours == theirs


OFFICIAL_RECIPE = sorted(CONFIGS.glob('aploss/retinanet_*_8xb2-*-512*.py'))


@pytest.mark.parametrize('path', OFFICIAL_RECIPE, ids=lambda p: p.name)
def test_retinanet_configs_follow_the_official_recipe(path):
    """The values of cccorn/AP-loss (lib/config.py, lib/dataloader/augmentations.py,
    lib/model/aploss.py) that mmdet can express."""
    cfg = Config.fromfile(path)
    head = cfg.model.bbox_head
    assert head.bbox_coder.target_stds == [0.1, 0.1, 0.2, 0.2]
    assert head.loss_bbox == dict(type='SmoothL1Loss', beta=1.0, loss_weight=0.25)
    assert head.anchor_generator.ratios == [0.5, 1.0, 2.0] and head.anchor_generator.scales_per_octave == 2
    assert cfg.model.backbone.style == 'caffe' and not cfg.model.data_preprocessor.bgr_to_rgb
    steps = [step['type'] for step in cfg.train_dataloader.dataset.get('pipeline') or
             leaf_datasets(cfg.train_dataloader.dataset)[0].pipeline]
    assert steps == ['LoadImageFromFile', 'LoadAnnotations', 'PhotoMetricDistortion', 'Expand',
                     'MinIoURandomCrop', 'Resize', 'RandomFlip', 'PackDetInputs']
    crop = next(step for step in cfg.aploss_train_pipeline if step['type'] == 'MinIoURandomCrop')
    assert crop['min_ious'] == (0.1, 0.3, 0.7, 0.9)
    test_resize = next(step for step in cfg.test_dataloader.dataset.pipeline if step['type'] == 'Resize')
    assert test_resize == dict(type='Resize', scale=(833, 500), keep_ratio=True)
    assert cfg.model.test_cfg.score_thr == 0.01 and cfg.model.test_cfg.nms_pre == 1000
    assert cfg.model.test_cfg.nms.iou_threshold == 0.5 and cfg.model.test_cfg.max_per_img == 100
    # 16 images per step over 8 GPUs, one ranking across them (APLoss's default 'global').
    assert cfg.train_dataloader.batch_size * 8 == cfg.auto_scale_lr.base_batch_size == 16
    assert head.type == 'RetinaHead'
    if head.loss_cls.type == 'APLoss':
        assert MODELS.build(head.loss_cls).ranking == 'global'
    checkpoint = cfg.default_hooks.checkpoint
    assert checkpoint.max_keep_ckpts == 3 and checkpoint.save_best in ('coco/bbox_mAP', 'pascal_voc/mAP')
    assert cfg.randomness.seed == 0
    if 'voc0712' in path.name:
        assert all(leaf.filter_cfg.bbox_min_size is None for leaf in leaf_datasets(cfg.train_dataloader.dataset))


@pytest.mark.parametrize('ours, head_type, mmdet_config', [
    ('rank_sort/rs_atss_r50_fpn_4xb4-1x_coco.py', 'ValueBalancedATSSHead', 'mmdet::atss/atss_r50_fpn_1x_coco.py'),
    ('rank_sort/rs_paa_r50_fpn_4xb4-1x_coco.py', 'ValueBalancedPAAHead', 'mmdet::paa/paa_r50_fpn_1x_coco.py'),
])
def test_one_stage_rank_sort_follows_the_authors(ours, head_type, mmdet_config, tmp_path):
    """RS-ATSS and RS-PAA R50 1x: the settings of kemaloksuz/RankSortLoss's
    configs/ranksort_loss/ranksort_{atss,paa}_r50_fpn_1x_coco.py, and otherwise mmdet's ATSS / PAA R50 1x
    (their assigners and test settings included)."""
    cfg = load(ours, tmp_path)
    head = cfg.model.bbox_head
    assert head.type == head_type and 'loss_centerness' not in head
    assert head.loss_cls == dict(type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0)
    assert head.loss_bbox == dict(type='GIoULoss', loss_weight=1.0)
    assert head.anchor_generator == dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=4,
                                         scales_per_octave=3, strides=[8, 16, 32, 64, 128])
    if head_type == 'ValueBalancedPAAHead':
        assert head.assigner_loss_cls == dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                                              loss_weight=1.0)
        assert head.topk == 9 and head.score_voting
    assert cfg.optim_wrapper.optimizer.lr == 0.008
    assert cfg.train_dataloader.batch_size * 4 == cfg.auto_scale_lr.base_batch_size == 16
    assert cfg.model.test_cfg == dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                                      nms=dict(type='nms', iou_threshold=0.6), max_per_img=100)
    ours, theirs = cfg.to_dict(), load(mmdet_config, tmp_path).to_dict()
    for config in (ours, theirs):
        del config['model']['bbox_head'], config['optim_wrapper']['optimizer']['lr']
        for key in ('batch_size', 'num_workers'):
            del config['train_dataloader'][key]
        config.pop('custom_imports', None)
        config.pop('auto_scale_lr')
    assert ours == theirs


def test_rs_rcnn_follows_the_authors(tmp_path):
    """RS-R-CNN R50 1x: the settings of kemaloksuz/RankSortLoss's
    configs/ranksort_loss/ranksort_faster_rcnn_r50_fpn_1x_coco.py, and otherwise mmdet's Faster R-CNN."""
    cfg = load('rank_sort/rs_faster-rcnn_r50_fpn_4xb4-1x_coco.py', tmp_path)
    rank_sort = dict(type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0)
    rpn, roi = cfg.model.rpn_head, cfg.model.roi_head.bbox_head
    assert rpn.type == 'ValueBalancedRPNHead' and rpn.head_weight == 0.2
    assert roi.type == 'ValueBalancedBBoxHead'
    for head in (rpn, roi):
        assert head.loss_cls == rank_sort and head.loss_bbox == dict(type='GIoULoss', loss_weight=1.0)
        assert head.bbox_coder.target_stds == [0.1, 0.1, 0.2, 0.2]
    assert cfg.model.train_cfg.rpn.sampler == dict(type='PseudoSampler')
    assert cfg.model.train_cfg.rcnn.sampler.num == 10 ** 10 and cfg.model.train_cfg.rcnn.sampler.add_gt_as_proposals
    assert cfg.model.test_cfg.rcnn.score_thr == 0.40
    assert cfg.optim_wrapper.optimizer.lr == 0.012
    assert cfg.train_dataloader.batch_size * 4 == cfg.auto_scale_lr.base_batch_size == 16
    ours = cfg.to_dict()
    theirs = load('mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', tmp_path).to_dict()
    for config in (ours, theirs):
        for head in (config['model']['rpn_head'], config['model']['roi_head']['bbox_head']):
            for key in ('type', 'loss_cls', 'loss_bbox', 'bbox_coder', 'head_weight'):
                head.pop(key, None)
        del config['model']['train_cfg']['rpn']['sampler'], config['model']['train_cfg']['rcnn']['sampler']['num']
        del config['model']['test_cfg']['rcnn']['score_thr'], config['optim_wrapper']['optimizer']['lr']
        for key in ('batch_size', 'num_workers'):
            del config['train_dataloader'][key]
        config.pop('custom_imports', None)
        config.pop('auto_scale_lr')
    assert ours == theirs


def test_alrp_retinanet_follows_the_authors(tmp_path):
    """aLRP RetinaNet R50: the settings of kemaloksuz/aLRPLoss's
    configs/alrp_loss/alrp_loss_retinanet_r50_fpn_100e_coco500.py, and otherwise mmdet's RetinaNet R50."""
    cfg = load('alrp/retinanet_r50_fpn_alrp_4xb8-100e_coco-512.py', tmp_path)
    head = cfg.model.bbox_head
    assert head.type == 'ALRPRetinaHead' and head.loss_cls == dict(type='ALRPLoss', use_sigmoid=True, delta=1.0)
    assert head.loss_bbox == dict(type='GIoULoss', loss_weight=1.0)
    assert head.anchor_generator.scales_per_octave == 2 and head.bbox_coder.target_stds == [0.1, 0.1, 0.2, 0.2]
    assert cfg.custom_hooks == [dict(type='ALRPSelfBalanceHook')]
    assert cfg.optim_wrapper.optimizer.lr == 0.008
    assert cfg.train_dataloader.batch_size * 4 == cfg.auto_scale_lr.base_batch_size == 32
    assert cfg.train_cfg.max_epochs == 100
    assert [s.milestones for s in cfg.param_scheduler if s.type == 'MultiStepLR'] == [[60, 80]]
    resize = [step for step in cfg.train_dataloader.dataset.pipeline if step.type == 'Resize']
    assert resize == [dict(type='Resize', scale=(512, 512), keep_ratio=False)]
    ours = cfg.to_dict()
    theirs = load('mmdet::retinanet/retinanet_r50_fpn_1x_coco.py', tmp_path).to_dict()
    for config in (ours, theirs):
        for key in ('type', 'anchor_generator', 'bbox_coder', 'loss_cls', 'loss_bbox'):
            config['model']['bbox_head'].pop(key)
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'train_cfg', 'param_scheduler',
                    'optim_wrapper', 'auto_scale_lr', 'custom_imports', 'custom_hooks', 'train_pipeline',
                    'test_pipeline', 'max_epochs', 'alrp_train_pipeline', 'alrp_test_pipeline'):
            config.pop(key, None)
    assert ours == theirs


ALRP = dict(type='ALRPLoss', use_sigmoid=True, delta=1.0)
GIOU = dict(type='GIoULoss', loss_weight=1.0)


def test_alrp_detectors_follow_the_authors(tmp_path):
    """aLRP with ATSS, FoveaBox and Faster R-CNN: the settings of kemaloksuz/aLRPLoss's
    configs/alrp_loss/alrp_loss_{retinanet_r50_fpn_ATSS,fovea_r50_fpn_4x4,faster_rcnn_r50_fpn}_100e_coco500.py,
    the aLRP RetinaNet's data, batch and epochs, and otherwise mmdet's detector."""
    retina = load('alrp/retinanet_r50_fpn_alrp_4xb8-100e_coco-512.py', tmp_path)
    atss = load('alrp/retinanet_r50_fpn_alrp-atss_4xb8-100e_coco-512.py', tmp_path)
    fovea = load('alrp/fovea_r50_fpn_alrp_4xb8-100e_coco-512.py', tmp_path)
    faster = load('alrp/faster-rcnn_r50_fpn_alrp_4xb8-100e_coco-512.py', tmp_path)
    for cfg in (atss, fovea, faster):
        assert cfg.custom_hooks == [dict(type='ALRPSelfBalanceHook')]
        assert [s.milestones for s in cfg.param_scheduler if s.type == 'MultiStepLR'] == [[75, 95]]
        assert cfg.param_scheduler[0] == retina.param_scheduler[0] and cfg.train_cfg.max_epochs == 100
        for split in ('train_dataloader', 'test_dataloader'):
            assert cfg[split].dataset.pipeline == retina[split].dataset.pipeline
        assert cfg.train_dataloader.batch_size * 4 == cfg.auto_scale_lr.base_batch_size == 32

    head = atss.model.bbox_head
    assert head.type == 'ALRPATSSHead' and head.norm_cfg is None and head.loss_cls == ALRP
    assert (head.anchor_generator.ratios, head.anchor_generator.scales_per_octave) == ([1.0], 2)
    assert atss.model.train_cfg.assigner == dict(type='ATSSAssigner', topk=9)
    assert atss.optim_wrapper == retina.optim_wrapper and atss.model.backbone == retina.model.backbone

    theirs = load('mmdet::foveabox/fovea_r50_fpn_4xb4-1x_coco.py', tmp_path)
    head = fovea.model.bbox_head
    assert head.type == 'ALRPFoveaHead' and (head.loss_cls, head.loss_bbox) == (ALRP, GIOU)
    for key in ('strides', 'base_edge_list', 'scale_ranges', 'sigma', 'with_deform', 'stacked_convs'):
        assert head[key] == theirs.model.bbox_head[key], key
    assert fovea.optim_wrapper.optimizer.lr == 0.008 and fovea.model.test_cfg == theirs.model.test_cfg

    theirs = load('mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', tmp_path)
    rpn, box = faster.model.rpn_head, faster.model.roi_head.bbox_head
    assert rpn.type == 'ALRPRPNHead' and rpn.head_weight == 0.2 and (rpn.loss_cls, rpn.loss_bbox) == (ALRP, GIOU)
    assert rpn.bbox_coder.target_stds == [0.1, 0.1, 0.2, 0.2]
    assert box.type == 'ALRPBBoxHead' and (box.loss_cls, box.loss_bbox) == (ALRP, GIOU)
    assert box.bbox_coder == theirs.model.roi_head.bbox_head.bbox_coder and not box.reg_class_agnostic
    for stage in ('rpn', 'rcnn'):
        assert faster.model.train_cfg[stage].sampler == dict(type='PseudoSampler')
        assert faster.model.train_cfg[stage].assigner == theirs.model.train_cfg[stage].assigner
    assert faster.model.train_cfg.rpn_proposal == theirs.model.train_cfg.rpn_proposal
    assert faster.model.test_cfg == theirs.model.test_cfg and faster.optim_wrapper.optimizer.lr == 0.012


def test_rs_yolact_follows_the_authors(tmp_path):
    """RS-YOLACT: the settings of the authors' configs/ranksort_loss/ranksort_yolact_r50_55e_coco.py,
    and otherwise mmdet's YOLACT R50."""
    cfg = load('rank_sort/rs_yolact_r50_1xb8-55e_coco.py', tmp_path)
    head, mask_head = cfg.model.bbox_head, cfg.model.mask_head
    assert head.type == 'ValueBalancedYOLACTHead' and head.use_ohem is False
    assert head.loss_cls == dict(type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0)
    assert head.loss_bbox == dict(type='GIoULoss', loss_weight=1.0)
    assert mask_head.type == 'ValueBalancedYOLACTProtonet' and mask_head.with_seg_branch is False
    assert cfg.optim_wrapper.optimizer.lr == 6e-3 and cfg.train_dataloader.batch_size == 8
    assert [s.type for s in cfg.param_scheduler] == ['LinearLR', 'CosineAnnealingLR']
    assert cfg.param_scheduler[1].T_max == cfg.train_cfg.max_epochs == 55 and cfg.param_scheduler[1].eta_min == 0
    ours = cfg.to_dict()
    theirs = load('mmdet::yolact/yolact_r50_1xb8-55e_coco.py', tmp_path).to_dict()
    for config in (ours, theirs):
        for key in ('type', 'loss_cls', 'loss_bbox', 'use_ohem'):
            config['model']['bbox_head'].pop(key)
        for key in ('type', 'with_seg_branch'):
            config['model']['mask_head'].pop(key)
        for key in ('param_scheduler', 'optim_wrapper', 'custom_imports'):
            config.pop(key, None)
    assert ours == theirs


@pytest.mark.parametrize('ours, theirs, images, lr', [
    ('rank_sort/rs_solov2_r101_fpn_4xb4-ms-3x_coco.py', 'mmdet::solov2/solov2_r101_fpn_ms-3x_coco.py', 4, 0.006),
    ('rank_sort/rs_solov2-light_r34_fpn_4xb8-ms-3x_coco.py', 'mmdet::solov2/solov2-light_r34_fpn_ms-3x_coco.py', 8,
     0.012)])
def test_rs_solov2_follows_the_authors(tmp_path, ours, theirs, images, lr):
    """RS-SOLOv2 R101 and light R34: the settings of kemaloksuz/RankSortLoss-Solov2's
    configs/ranksort_loss/ranksort_solov2_{r101_fpn,light_448_r34_fpn}_3x.py, and otherwise mmdet's."""
    cfg = load(ours, tmp_path)
    head = cfg.model.mask_head
    assert head.type == 'ValueBalancedSOLOV2Head'
    assert head.loss_cls == dict(type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0)
    assert cfg.optim_wrapper.optimizer.lr == lr and cfg.optim_wrapper.clip_grad.max_norm == 35
    assert cfg.train_dataloader.batch_size == images and cfg.auto_scale_lr.base_batch_size == 4 * images
    assert cfg.param_scheduler[0].start_factor == 0.01 and cfg.param_scheduler[1].milestones == [27, 33]
    assert cfg.model.test_cfg.score_thr == 0.2
    ours, theirs = cfg.to_dict(), load(theirs, tmp_path).to_dict()
    for config in (ours, theirs):
        for key in ('type', 'loss_cls', 'loss_mask'):
            config['model']['mask_head'].pop(key)
        config['model']['test_cfg'].pop('score_thr')
        config['train_dataloader'].pop('batch_size')
        for key in ('param_scheduler', 'optim_wrapper', 'custom_imports', 'auto_scale_lr'):
            config.pop(key, None)
    assert ours == theirs


@pytest.mark.parametrize('ours, theirs, head', [
    ('rank_sort/rs_dino-4scale_r50_8xb2-12e_coco.py', 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py',
     'ValueBalancedDINOHead'),
    ('rank_sort/rs_deformable-detr_r50_16xb2-50e_coco.py',
     'mmdet::deformable_detr/deformable-detr_r50_16xb2-50e_coco.py', 'ValueBalancedDeformableDETRHead')])
def test_rs_detrs_change_only_the_head_and_its_loss(tmp_path, ours, theirs, head):
    """RS-DINO and RS-Deformable-DETR: mmdet's config with the head and its loss_cls swapped; the
    matching cost stays focal."""
    ours, theirs = load(ours, tmp_path).to_dict(), load(theirs, tmp_path).to_dict()
    assert ours['model']['bbox_head']['type'] == head
    assert ours['model']['bbox_head']['loss_cls'] == dict(type='RankSortLoss', use_sigmoid=True, delta=0.5,
                                                          loss_weight=1.0)
    for config in (ours, theirs):
        for key in ('type', 'loss_cls'):
            config['model']['bbox_head'].pop(key)
        config.pop('custom_imports', None)
    assert ours == theirs


def test_rs_mask_rcnn_r101_3x_follows_the_authors(tmp_path):
    """The authors' ranksort_mask_rcnn_r101_fpn_mstrain_3x_coco.py on our R50 1x RS-Mask R-CNN."""
    cfg = load('rank_sort/rs_mask-rcnn_r101_fpn_ms-640-800-3x_coco.py', tmp_path)
    r50 = load('rank_sort/rs_mask-rcnn_r50_fpn_4xb4-1x_coco.py', tmp_path)
    assert cfg.model.backbone.depth == 101 and cfg.model.backbone.init_cfg.checkpoint == 'torchvision://resnet101'
    assert cfg.train_cfg.max_epochs == 36
    assert [s.milestones for s in cfg.param_scheduler if s.type == 'MultiStepLR'] == [[27, 33]]
    resize = cfg.train_dataloader.dataset.pipeline[2]
    assert resize.type == 'RandomChoiceResize' and [side for _, side in resize.scales] == list(range(640, 801, 32))
    assert cfg.model.roi_head == r50.model.roi_head and cfg.model.rpn_head == r50.model.rpn_head
    assert cfg.test_dataloader == r50.test_dataloader and cfg.optim_wrapper == r50.optim_wrapper


# The losses of configs/any_detector/ with their papers' delta: AP-Loss 1.0, Rank & Sort 0.5.
ANY_DETECTOR_LOSSES = dict(aploss=dict(type='APLoss', use_sigmoid=True, delta=1.0, loss_weight=1.0),
                           ranksort=dict(type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0))


def swapped_heads(model):
    """The heads of a model config whose loss_cls configs/any_detector/ swaps."""
    return [model['rpn_head'], model['roi_head']['bbox_head']] if 'rpn_head' in model else [model['bbox_head']]


@pytest.mark.parametrize('ours, mmdet_config', ANY_DETECTOR.items(), ids=list(ANY_DETECTOR))
def test_any_detector_swaps_only_the_loss(ours, mmdet_config, tmp_path):
    """mmdet's config but for loss_cls (of the RPN and the RoI box head in a two-stage detector)
    and the import of mmdet_losses."""
    loss = ANY_DETECTOR_LOSSES['aploss' if '_aploss_' in ours else 'ranksort']
    ours, theirs = plain(load(ours, tmp_path).to_dict()), plain(load(mmdet_config, tmp_path).to_dict())
    assert ours.pop('custom_imports') == dict(imports=['mmdet_losses'], allow_failed_imports=False)
    for head, stock_head in zip(swapped_heads(ours['model']), swapped_heads(theirs['model'])):
        assert head.pop('loss_cls') == loss
        stock_head.pop('loss_cls')
    assert ours == theirs


def test_box_loss_weight_matches_the_official_normalisation():
    """The official code divides the smooth-L1 gradient by 4 x the number of positives; mmdet's
    SmoothL1Loss with avg_factor = positives and loss_weight 0.25 gives the same gradient."""
    import torch
    cfg = Config.fromfile(CONFIGS / 'aploss' / 'retinanet_r50_fpn_aploss_8xb2-100e_coco-512.py')
    loss_bbox = MODELS.build(cfg.model.bbox_head.loss_bbox)
    generator = torch.Generator().manual_seed(0)
    pred = torch.randn(50, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    target = torch.randn(50, 4, generator=generator, dtype=torch.float64)
    weight = (torch.rand(50, 1, generator=generator) < 0.3).double().expand(50, 4)
    positives = int(weight[:, 0].sum())
    loss_bbox(pred, target, weight, avg_factor=positives).backward()
    diff = (pred - target).detach()
    official = torch.where(diff.abs() < 1.0, diff, diff.sign()) * weight / (4 * positives)
    # mmdet divides by avg_factor + float32 eps: equal to about 1e-8 relative.
    torch.testing.assert_close(pred.grad, official, rtol=1e-7, atol=0)
