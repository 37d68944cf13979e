"""tools/make_demo_data.py: deterministic, and both layouts load through mmdet's own datasets."""
import json
from pathlib import Path

import pytest

pytest.importorskip('mmdet', reason='loading the layouts needs mmdet')

from mmdet.datasets import CocoDataset, VOCDataset  # noqa: E402

@pytest.fixture(scope='module')
def demo_tool(load_tool):
    return load_tool('make_demo_data')


@pytest.fixture(scope='module')
def demo_data(demo_tool, tmp_path_factory):
    out = tmp_path_factory.mktemp('demo')
    demo_tool.main(['--out', str(out), '--train', '12', '--val', '4', '--size', '96'])
    return out


def test_same_seed_same_data(demo_tool, demo_data, tmp_path):
    demo_tool.main(['--out', str(tmp_path), '--train', '12', '--val', '4', '--size', '96'])
    for name in ('annotations/instances_train.json', 'VOCdemo/Annotations/train_00003.xml',
                 'VOCdemo/JPEGImages/val_00001.jpg'):
        assert (tmp_path / name).read_bytes() == (demo_data / name).read_bytes()


def test_coco_and_voc_layouts_load_with_the_same_boxes(demo_tool, demo_data):
    metainfo = dict(classes=demo_tool.CLASSES)
    coco = CocoDataset(data_root=str(demo_data), ann_file='annotations/instances_train.json',
                       data_prefix=dict(img='VOCdemo/JPEGImages/'), metainfo=metainfo,
                       filter_cfg=None, pipeline=[], test_mode=False)
    voc = VOCDataset(data_root=str(demo_data), ann_file='VOCdemo/ImageSets/Main/train.txt',
                     data_prefix=dict(sub_data_root='VOCdemo/'), metainfo=metainfo,
                     filter_cfg=None, pipeline=[], test_mode=False)
    assert len(coco) == len(voc) == 12
    # Not taken for PASCAL VOC: mmdet's VOC metric then reports the demo's own class names.
    assert voc.metainfo['dataset_type'] is None and voc.metainfo['classes'] == demo_tool.CLASSES
    raw = json.loads((demo_data / 'annotations' / 'instances_train.json').read_text())
    assert len(raw['annotations']) > 12 and {c['name'] for c in raw['categories']} == set(demo_tool.CLASSES)
    assert any(a['iscrowd'] for a in raw['annotations']), 'some objects should be hard (occluded)'
    for k in range(12):
        coco_item, voc_item = coco.get_data_info(k), voc.get_data_info(k)
        assert Path(coco_item['img_path']).name == Path(voc_item['img_path']).name
        assert Path(coco_item['img_path']).is_file()
        coco_boxes = [(i['bbox_label'], i['bbox'], i['ignore_flag']) for i in coco_item['instances']]
        # mmdet reads VOC boxes 1-based and subtracts one from every corner.
        voc_boxes = [(i['bbox_label'], [i['bbox'][0], i['bbox'][1], i['bbox'][2] + 1, i['bbox'][3] + 1],
                      i['ignore_flag']) for i in voc_item['instances']]
        assert coco_boxes == voc_boxes
