"""The instance-segmentation demos: RS-Mask R-CNN against mmdet's Mask R-CNN (make
demo-rank-sort-mask) and RS-SOLOv2 against mmdet's SOLOv2 (make demo-rank-sort-solov2) on the demo
data's masks. Each pair's configs differ in the heads' types, losses (and samplers) only and follow
the R50 RS-Mask R-CNN and the R101 RS-SOLOv2 configs; tools/demo.py regenerates demo data made
before the masks, and trains, evaluates (box and mask AP; SOLOv2, whose boxes are zeros: mask AP)
and draws each pair."""
import json
from pathlib import Path

import pytest

pytest.importorskip('mmdet', reason='the demo needs mmdet')

from mmengine.config import Config  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[2] / 'configs' / 'rank_sort'
RS = CONFIGS / 'rs_mask-rcnn_r18_fpn_1xb8-800i_demo.py'
BASELINE = CONFIGS / 'mask-rcnn_r18_fpn_1xb8-800i_demo.py'
RS_SOLOV2 = CONFIGS / 'rs_solov2_r18_fpn_1xb8-1600i_demo.py'
SOLOV2 = CONFIGS / 'solov2_r18_fpn_1xb8-1600i_demo.py'


def without_rank_sort(cfg):
    """A config dict less what RS-Mask R-CNN sets (heads' types and losses, the RPN's deltas'
    stds and weight, the samplers) and the import of mmdet_losses."""
    model = cfg['model']
    for key in ('type', 'loss_cls', 'loss_bbox', 'bbox_coder', 'head_weight'):
        model['rpn_head'].pop(key, None)
    for key in ('type', 'loss_cls', 'loss_bbox'):
        model['roi_head']['bbox_head'].pop(key)
    model['roi_head'].pop('type')
    model['roi_head']['mask_head'].pop('type')
    model['train_cfg']['rpn'].pop('sampler')
    model['train_cfg']['rcnn']['sampler'].pop('num')
    cfg.pop('custom_imports', None)
    return cfg


def test_the_pair_differs_in_the_rank_sort_heads_only():
    ours, theirs = Config.fromfile(RS), Config.fromfile(BASELINE)
    assert ours.model.roi_head.type == 'ValueBalancedRoIHead'
    assert theirs.model.roi_head.type == 'StandardRoIHead' and theirs.model.rpn_head.type == 'RPNHead'
    assert without_rank_sort(ours.to_dict()) == without_rank_sort(theirs.to_dict())
    # Masks loaded and scored.
    for cfg in (ours, theirs):
        assert cfg.val_evaluator.metric == ['bbox', 'segm'] and cfg.test_evaluator.metric == ['bbox', 'segm']
        for pipeline in (cfg.train_dataloader.dataset.pipeline, cfg.test_dataloader.dataset.pipeline):
            load = next(step for step in pipeline if step['type'] == 'LoadAnnotations')
            assert load['with_mask']
        assert cfg.train_cfg.max_iters == 800


def test_rank_sort_heads_are_the_r50_configs():
    """The heads and samplers of rs_mask-rcnn_r50_fpn_4xb4-1x_coco.py (but for sizes)."""
    ours, r50 = Config.fromfile(RS).model, Config.fromfile(CONFIGS / 'rs_mask-rcnn_r50_fpn_4xb4-1x_coco.py').model
    for key in ('type', 'head_weight', 'loss_cls', 'loss_bbox'):
        assert ours.rpn_head[key] == r50.rpn_head[key], key
    assert ours.rpn_head.bbox_coder.target_stds == r50.rpn_head.bbox_coder.target_stds
    for key in ('type', 'loss_cls', 'loss_bbox'):
        assert ours.roi_head.bbox_head[key] == r50.roi_head.bbox_head[key], key
    assert ours.roi_head.type == r50.roi_head.type and ours.roi_head.mask_head.type == r50.roi_head.mask_head.type
    assert ours.train_cfg.rpn.sampler == r50.train_cfg.rpn.sampler
    assert ours.train_cfg.rcnn.sampler == r50.train_cfg.rcnn.sampler


def solov2_without_rank_sort(cfg):
    """A config dict less the SOLOv2 head's type and losses and the import of mmdet_losses."""
    for key in ('type', 'loss_cls', 'loss_mask'):
        cfg['model']['mask_head'].pop(key)
    cfg.pop('custom_imports', None)
    return cfg


def test_the_solov2_pair_differs_in_the_rank_sort_head_only():
    ours, theirs = Config.fromfile(RS_SOLOV2), Config.fromfile(SOLOV2)
    assert ours.model.mask_head.type == 'ValueBalancedSOLOV2Head' and theirs.model.mask_head.type == 'SOLOV2Head'
    assert theirs.model.mask_head.loss_cls.type == 'FocalLoss' and theirs.model.mask_head.loss_mask.loss_weight == 3.0
    assert solov2_without_rank_sort(ours.to_dict()) == solov2_without_rank_sort(theirs.to_dict())
    for cfg in (ours, theirs):
        assert cfg.val_evaluator.metric == 'segm' and cfg.test_evaluator.metric == 'segm'
        assert cfg.train_cfg.max_iters == 1600 and cfg.param_scheduler[-1].milestones == [1200]
    # Everything but the model, the metric and the schedule's length is the Mask R-CNN demo's.
    mask_rcnn = Config.fromfile(BASELINE).to_dict()
    for key in ('train_dataloader', 'val_dataloader', 'randomness', 'log_processor'):
        assert theirs.to_dict()[key] == mask_rcnn[key], key
    assert theirs.optim_wrapper.optimizer == mask_rcnn['optim_wrapper']['optimizer']


def test_rs_solov2_head_is_the_r101_configs():
    ours = Config.fromfile(RS_SOLOV2).model.mask_head
    r101 = Config.fromfile(CONFIGS / 'rs_solov2_r101_fpn_4xb4-ms-3x_coco.py').model.mask_head
    for key in ('type', 'loss_cls', 'loss_mask'):
        assert ours[key] == r101[key], key


def test_demo_data_without_masks_is_regenerated(load_tool, tmp_path):
    demo = load_tool('demo')
    data = tmp_path / 'data'
    assert demo.stale(data)
    load_tool('make_demo_data').main(['--out', str(data), '--train', '4', '--val', '2'])
    assert not demo.stale(data)
    path = data / 'annotations' / 'instances_val.json'
    coco = json.loads(path.read_text())
    coco['annotations'][0]['segmentation'] = []  # as the data made before the masks
    path.write_text(json.dumps(coco))
    assert demo.stale(data)


# (comparison, its runs' labels and folders, the table's box columns)
MASK_COMPARISONS = [
    ('rank_sort_mask', ['RS-Mask R-CNN (Rank & Sort)', 'Mask R-CNN'], ['rs_mask_rcnn', 'mask_rcnn'],
     '| box AP | box AP50 '),
    ('rank_sort_solov2', ['RS-SOLOv2 (Rank & Sort)', 'SOLOv2'], ['rs_solov2', 'solov2'], ''),
]


@pytest.mark.slow  # trains
@pytest.mark.parametrize('compare, labels, slugs, box_columns', MASK_COMPARISONS, ids=[c[0] for c in MASK_COMPARISONS])
def test_mask_comparison_trains_evaluates_and_draws(compare, labels, slugs, box_columns, load_tool, tmp_path,
                                                    capsys):
    data, out = tmp_path / 'data', tmp_path / 'out'
    load_tool('make_demo_data').main(['--out', str(data), '--train', '12', '--val', '4'])
    rows = load_tool('demo').main(['--compare', compare, '--data', str(data), '--out', str(out), '--iters', '4'])
    printed = capsys.readouterr().out
    assert [label for label, *_ in rows] == labels
    assert f'| model {box_columns}| mask AP | mask AP50 | training time |' in printed
    for label, coco, voc, seconds in rows:
        assert 0 <= coco['coco/segm_mAP_50'] <= 1 and seconds > 0
        assert voc == {}  # VOC has no masks
        boxes = f'{coco["coco/bbox_mAP"]:.3f} | {coco["coco/bbox_mAP_50"]:.3f} | ' if box_columns else ''
        assert ('coco/bbox_mAP' in coco) == bool(box_columns)
        assert f'| {label} | {boxes}{coco["coco/segm_mAP"]:.3f} | {coco["coco/segm_mAP_50"]:.3f} |' in printed
    for picture in (f'curves_{compare}.png', f'predictions_{compare}.png'):
        assert (out / picture).stat().st_size > 10_000
    for slug in slugs:
        assert (out / slug / 'iter_4.pth').is_file()
