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
# (config, its baseline): they differ in the head and its losses only (AP-Loss: and learning rate).
TWINS = [
    ('aploss/retinanet_r50_fpn_aploss_100e_coco.py', 'aploss/retinanet_r50_fpn_focal_100e_coco.py'),
    ('aploss/retinanet_r101_fpn_aploss_100e_coco.py', 'aploss/retinanet_r101_fpn_focal_100e_coco.py'),
    ('aploss/retinanet_r50_fpn_aploss_160e_voc0712.py', 'aploss/retinanet_r50_fpn_focal_160e_voc0712.py'),
    ('aploss/ssd300_aploss_160e_voc0712.py', 'aploss/ssd300_160e_voc0712.py'),
    ('aploss/ssd512_aploss_160e_voc0712.py', 'aploss/ssd512_160e_voc0712.py'),
    # The rows of the AP-Loss paper's SSD table share data, schedule and learning rate.
    ('aploss/ssd512_focal_160e_voc0712.py', 'aploss/ssd512_160e_voc0712.py'),
    ('aploss/ssd512_auc_160e_voc0712.py', 'aploss/ssd512_160e_voc0712.py'),
    ('aploss/ssd512_aploss_100e_coco.py', 'aploss/ssd512_100e_coco.py'),
    ('demo/retinanet_r18_aploss_demo.py', 'demo/retinanet_r18_focal_demo.py'),
    ('harmonic/retinanet_r50_fpn_harmonic_1x_coco.py', 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'),
    ('harmonic/retinanet_r50_fpn_harmonic_hiou_1x_coco.py', 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'),
    ('harmonic/retinanet_r50_fpn_harmonic_1x_voc0712.py', 'mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py'),
    ('harmonic/retinanet_r50_fpn_harmonic_hiou_1x_voc0712.py',
     'mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py'),
    ('harmonic/ssd300_harmonic_voc0712.py', 'harmonic/ssd300_voc0712.py'),
    ('harmonic/ssd300_harmonic_hiou_voc0712.py', 'harmonic/ssd300_voc0712.py'),
    ('harmonic/ssd512_harmonic_voc0712.py', 'harmonic/ssd512_voc0712.py'),
    ('harmonic/ssd512_harmonic_hiou_voc0712.py', 'harmonic/ssd512_voc0712.py'),
    ('harmonic/retinanet_r18_harmonic_demo.py', 'demo/retinanet_r18_focal_demo.py'),
    ('harmonic/retinanet_r18_harmonic_hiou_demo.py', 'demo/retinanet_r18_focal_demo.py'),
] + [
    (f'{family}/retinanet_r50_fpn_{family}_1x_coco.py', 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py')
    for family in ('anchor_loss', 'two_way', 'uniloss')
] + [
    (f'{family}/retinanet_r50_fpn_{family}_1x_voc0712.py', 'mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py')
    for family in ('anchor_loss', 'two_way', 'uniloss')
] + [
    (f'{family}/retinanet_r18_{family}_demo.py', 'demo/retinanet_r18_focal_demo.py')
    for family in ('anchor_loss', 'two_way', 'uniloss')
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
SINGLES = ['demo/ssd_r18_aploss_demo.py', 'harmonic/ssd_r18_harmonic_demo.py']


def load(name, tmp_path):
    """A config of configs/, or of mmdet's ('mmdet::...'), which mmengine reads only as a base."""
    if name.startswith('mmdet::'):
        child = tmp_path / 'mmdet_config.py'
        child.write_text(f'_base_ = {name!r}\n')
        return Config.fromfile(child)
    return Config.fromfile(CONFIGS / name)


def test_every_config_is_covered():
    assert len(SHIPPED) == 39
    covered = {name for pair in TWINS for name in pair if not name.startswith('mmdet::')} | set(SINGLES)
    assert covered == {str(p.relative_to(CONFIGS)) for p in SHIPPED}


@pytest.mark.parametrize('path', SHIPPED, ids=lambda p: str(p.relative_to(CONFIGS)))
def test_builds_its_model_and_names_complete_datasets(path):
    cfg = Config.fromfile(path)
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for dataset in leaf_datasets(cfg[split]['dataset']):
            assert dataset.get('ann_file') and dataset.get('data_root') and dataset.get('pipeline'), dataset
    if 'aploss' in path.name:
        assert cfg.model.bbox_head.type in ('APLossRetinaHead', 'APLossSSDHead')
        assert cfg.model.bbox_head.loss_cls.type == 'APLoss'
        assert 'mmdet_losses' in cfg.custom_imports.imports
    if path.name.startswith('ssd512_') and path.name.endswith('_160e_voc0712.py'):
        # The SSD table's rows: AP over IoU 0.50:0.05:0.95 on VOC07 test.
        assert cfg.val_evaluator.iou_thrs == [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]
    if 'harmonic' in path.name:
        assert cfg.model.bbox_head.type in ('HarmonicRetinaHead', 'HarmonicSSDHead')
    if 'hiou' in path.name:
        assert cfg.model.bbox_head.loss_bbox.type == 'HarmonicIoULoss' and cfg.model.bbox_head.reg_decoded_bbox
    family = path.parent.name
    if family in FAMILY_LOSS:
        assert cfg.model.bbox_head.loss_cls.type == FAMILY_LOSS[family]
    assert cfg.model.bbox_head.type != 'SSDHead', 'mmdet 3.3.0 SSDHead cannot predict: ConfigurableSSDHead'
    assert cfg.auto_scale_lr.base_batch_size > 0


@pytest.mark.parametrize('ours, baseline', TWINS, ids=[pair[0] for pair in TWINS])
def test_baseline_has_the_same_data_and_schedule(ours, baseline, tmp_path):
    # AP-Loss trains at its paper's learning rate; the Harmonic loss at its baseline's.
    differ_in_lr = 'aploss' in ours
    ours, theirs = load(ours, tmp_path).to_dict(), load(baseline, tmp_path).to_dict()
    for cfg in (ours, theirs):
        del cfg['model']['bbox_head']
        if differ_in_lr:
            cfg['optim_wrapper']['optimizer'].pop('lr')
        cfg.pop('custom_imports', None)
    assert ours == theirs
