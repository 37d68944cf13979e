"""tools/make_demo_data.py: deterministic, both layouts load through mmdet's own datasets, and the
COCO masks are the objects' visible drawn pixels."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

pytest.importorskip('mmdet', reason='loading the layouts needs mmdet')

from mmdet.datasets import CocoDataset, VOCDataset  # noqa: E402
from mmdet.structures.mask import BitmapMasks  # noqa: E402
from pycocotools import mask as mask_utils  # noqa: E402

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


def _decode(segmentation):
    return mask_utils.decode(segmentation).astype(bool)


def _extent(mask):
    """The mask's box, (x1, y1, x2, y2) 0-based exclusive."""
    ys, xs = np.nonzero(mask)
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


def _core(mask, margin=2):
    """The mask's pixels whose 4-neighbours up to ``margin`` away are all in it (JPEG blurs edges)."""
    core = mask.copy()
    for _ in range(margin):
        inner = core.copy()
        inner[1:] &= core[:-1]
        inner[:-1] &= core[1:]
        inner[:, 1:] &= core[:, :-1]
        inner[:, :-1] &= core[:, 1:]
        inner[[0, -1]], inner[:, [0, -1]] = False, False
        core = inner
    return core


def _shape(demo_tool, label, box, size):
    """The object's whole shape, drawn alone by the tool's own drawing call."""
    canvas = Image.new('L', (size, size))
    demo_tool.draw_shape(ImageDraw.Draw(canvas), demo_tool.CLASSES[label], box, 255)
    return np.asarray(canvas) > 0


def test_a_mask_is_the_drawn_pixels_of_its_shape(demo_tool):
    # The mask is drawn on 'L', the image on RGB: PIL fills the same pixels whatever the mode and colour.
    rng = np.random.RandomState(1)
    for _ in range(40):
        x1, y1 = rng.randint(0, 30, 2)
        box = (x1, y1, x1 + rng.randint(8, 34), y1 + rng.randint(8, 34))
        for label, name in enumerate(demo_tool.CLASSES):
            image = Image.new('RGB', (64, 64), (0, 0, 0))
            demo_tool.draw_shape(ImageDraw.Draw(image), name, box, (200, 10, 90))
            assert np.array_equal(np.asarray(image).any(axis=2), _shape(demo_tool, label, box, 64)), (name, box)


def test_masks_are_the_visible_pixels_of_each_object(demo_tool):
    rng = np.random.RandomState(0)
    size, hard_seen = 96, 0
    for _ in range(30):
        image, objects = demo_tool.make_image(rng, size, 4)
        pixels = np.asarray(image)
        union = np.zeros((size, size), bool)
        for label, box, hard, mask in objects:
            assert mask.shape == (size, size) and mask.dtype == bool and mask.any()
            assert not (union & mask).any(), 'objects own disjoint pixels'
            union |= mask
            shape = _shape(demo_tool, label, box, size)
            assert not (mask & ~shape).any(), 'a mask lies inside its shape'
            # One flat colour, the object's: later objects only cover pixels they take from the mask.
            assert len(np.unique(pixels[mask], axis=0)) == 1
            x1, y1, x2, y2 = box
            # The shape fills its box; PIL draws an ellipse one pixel past the right and bottom edges.
            sx1, sy1, sx2, sy2 = _extent(shape)
            assert (sx1, sy1) == (x1, y1) and 0 <= sx2 - x2 <= 1 and 0 <= sy2 - y2 <= 1
            if mask.sum() == shape.sum():
                assert _extent(mask) == (sx1, sy1, sx2, sy2)
            assert hard == (mask.sum() < demo_tool.MIN_VISIBLE * shape.sum())
            hard_seen += hard
    assert hard_seen, 'some objects should be hard (occluded)'


def test_coco_masks_decode_and_match_the_images(demo_tool, demo_data):
    raw = json.loads((demo_data / 'annotations' / 'instances_train.json').read_text())
    images = {image['id']: image for image in raw['images']}
    full, crowd = 0, 0
    for ann in raw['annotations']:
        image = images[ann['image_id']]
        segmentation = ann['segmentation']
        # Compressed RLE for every object, as COCO requires of crowd objects.
        assert isinstance(segmentation, dict) and isinstance(segmentation['counts'], str)
        assert segmentation['size'] == [image['height'], image['width']]
        mask = _decode(segmentation)
        assert mask.shape == (96, 96) and ann['area'] == mask.sum() == mask_utils.area(segmentation) > 0
        x, y, w, h = ann['bbox']
        mx1, my1, mx2, my2 = _extent(mask)
        assert mx1 >= x and my1 >= y and mx2 <= x + w + 1 and my2 <= y + h + 1, 'inside its bbox'
        shape = _shape(demo_tool, ann['category_id'] - 1, (x, y, x + w, y + h), 96)
        assert not (mask & ~shape).any()
        if mask.sum() == shape.sum():
            # Wholly visible: the mask fills its bbox (an ellipse reaches one pixel past it).
            assert (mx1, my1) == (x, y) and 0 <= mx2 - x - w <= 1 and 0 <= my2 - y - h <= 1
            full += 1
        crowd += ann['iscrowd']
        # The JPEG shows the object there: its core is close to one colour, unlike the background.
        core = _core(mask)
        if core.sum() >= 9:
            pixels = np.asarray(Image.open(demo_data / 'VOCdemo' / 'JPEGImages' / image['file_name']), float)
            inside = pixels[core]
            assert np.abs(inside - np.median(inside, axis=0)).mean() < 6
    assert full and crowd


def test_coco_masks_are_those_the_images_were_drawn_with(demo_tool, demo_data):
    raw = json.loads((demo_data / 'annotations' / 'instances_train.json').read_text())
    rng = np.random.RandomState(0)  # the tool's default seed; train images come first
    for k in range(3):
        _, objects = demo_tool.make_image(rng, 96, 4)
        anns = [a for a in raw['annotations'] if a['image_id'] == k + 1]
        assert len(anns) == len(objects)
        for ann, (_, _, _, mask) in zip(anns, objects):
            assert np.array_equal(_decode(ann['segmentation']), mask)


def test_coco_masks_load_in_mmdet(demo_tool, demo_data):
    from mmdet.utils import register_all_modules
    register_all_modules()  # the transforms' registry, whichever test ran before
    coco = CocoDataset(data_root=str(demo_data), ann_file='annotations/instances_train.json',
                       data_prefix=dict(img='VOCdemo/JPEGImages/'), metainfo=dict(classes=demo_tool.CLASSES),
                       filter_cfg=None, test_mode=False,
                       pipeline=[dict(type='LoadImageFromFile'),
                                 dict(type='LoadAnnotations', with_bbox=True, with_mask=True)])
    raw = json.loads((demo_data / 'annotations' / 'instances_train.json').read_text())
    for k in range(len(coco)):
        results = coco[k]
        anns = [a for a in raw['annotations'] if a['image_id'] == results['img_id']]
        masks = results['gt_masks']
        assert isinstance(masks, BitmapMasks) and masks.masks.shape == (len(anns), 96, 96)
        assert results['gt_ignore_flags'].tolist() == [bool(a['iscrowd']) for a in anns]
        for loaded, ann in zip(masks.masks, anns):
            assert np.array_equal(loaded.astype(bool), _decode(ann['segmentation']))
