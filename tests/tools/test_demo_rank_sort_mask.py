"""The instance-segmentation demo (make demo-rank-sort-mask): RS-Mask R-CNN against mmdet's Mask
R-CNN on the demo data's masks. Its two configs differ in the heads' types, losses and samplers only
and follow the R50 RS-Mask R-CNN config; tools/demo.py regenerates demo data made before the masks,
and trains, evaluates (box and mask AP) and draws the pair."""
import json
from pathlib import Path

import pytest

pytest.importorskip('mmdet', reason='the demo needs mmdet')

from mmengine.config import Config  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[2] / 'configs' / 'rank_sort'
RS = CONFIGS / 'rs_mask-rcnn_r18_fpn_1xb8-800i_demo.py'
BASELINE = CONFIGS / 'mask-rcnn_r18_fpn_1xb8-800i_demo.py'


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


@pytest.mark.slow  # trains
def test_mask_comparison_trains_evaluates_and_draws(load_tool, tmp_path, capsys):
    data, out = tmp_path / 'data', tmp_path / 'out'
    load_tool('make_demo_data').main(['--out', str(data), '--train', '12', '--val', '4'])
    rows = load_tool('demo').main(['--compare', 'rank_sort_mask', '--data', str(data), '--out', str(out),
                                   '--iters', '4'])
    printed = capsys.readouterr().out
    assert [label for label, *_ in rows] == ['RS-Mask R-CNN (Rank & Sort)', 'Mask R-CNN']
    assert '| model | box AP | box AP50 | mask AP | mask AP50 | training time |' in printed
    for label, coco, voc, seconds in rows:
        assert 0 <= coco['coco/bbox_mAP_50'] <= 1 and 0 <= coco['coco/segm_mAP_50'] <= 1 and seconds > 0
        assert voc == {}  # VOC has no masks
        assert f'| {label} | {coco["coco/bbox_mAP"]:.3f} | {coco["coco/bbox_mAP_50"]:.3f} | ' \
               f'{coco["coco/segm_mAP"]:.3f} |' in printed
    for picture in ('curves_rank_sort_mask.png', 'predictions_rank_sort_mask.png'):
        assert (out / picture).stat().st_size > 10_000
    assert (out / 'rs_mask_rcnn' / 'iter_4.pth').is_file() and (out / 'mask_rcnn' / 'iter_4.pth').is_file()
