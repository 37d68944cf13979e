"""Generates the embedded demo detection dataset, deterministically, in both COCO and VOC layouts.

Small RGB images with objects of four shape classes (ellipse, rectangle, triangle, cross) in varied
sizes and colours on textured backgrounds with clutter (lines and dots that are not objects).
Objects may overlap: one less than half visible is kept but marked as hard (VOC ``difficult``, COCO
``iscrowd``), so training and evaluation ignore it, as both formats intend.

The COCO annotations carry each object's exact instance mask (``segmentation``), hard objects
included: the pixels of its shape that stay visible in the image, i.e. its shape as drawn (the same
PIL call on a blank mask) less the pixels of the objects drawn after it, as COCO's masks are. Every
mask is compressed RLE (pycocotools), for crowd objects as COCO requires, and for the others too,
since a partly covered shape is no polygon and RLE holds the drawn pixels exactly. ``area`` is the
mask's pixel count, as in COCO (its size ranges for small, medium and large objects go by it; AP,
AP50 and AP75 over all sizes do not). ``bbox`` is the box the shape was drawn in, however much of it
is covered, so the visible mask can be smaller. PIL draws an ellipse one pixel past its box's right
and bottom edges, so an ellipse's mask reaches one pixel beyond its bbox there. The masks are
computed from the drawing, without random draws of their own: the images do not depend on them.

Layout under OUT (one set of JPEG images serves both formats; the VOC folder is not named VOC2007
because mmdet then takes the data for PASCAL VOC and labels its VOC metric with VOC's classes)::

    VOCdemo/JPEGImages/{id}.jpg
    VOCdemo/Annotations/{id}.xml          VOC XML, 1-based pixel boxes
    VOCdemo/ImageSets/Main/{train,val}.txt
    annotations/instances_{train,val}.json  COCO JSON (boxes and RLE masks), file_name relative to
                                            VOCdemo/JPEGImages/

    python tools/make_demo_data.py --out data/demo
"""
import argparse
import json
import sys
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
from PIL import Image, ImageDraw
from pycocotools import mask as mask_utils

CLASSES = ('ellipse', 'rectangle', 'triangle', 'cross')
MIN_VISIBLE = 0.5


def draw_shape(draw, shape, box, colour):
    x1, y1, x2, y2 = box
    if shape == 'ellipse':
        draw.ellipse(box, fill=colour)
    elif shape == 'rectangle':
        draw.rectangle((x1, y1, x2 - 1, y2 - 1), fill=colour)
    elif shape == 'triangle':
        draw.polygon([((x1 + x2) / 2, y1), (x2 - 1, y2 - 1), (x1, y2 - 1)], fill=colour)
    else:
        w, h = x2 - x1, y2 - y1
        draw.rectangle((x1 + w // 3, y1, x2 - 1 - w // 3, y2 - 1), fill=colour)
        draw.rectangle((x1, y1 + h // 3, x2 - 1, y2 - 1 - h // 3), fill=colour)


def background(rng, size):
    """A smooth colour gradient with noise, plus clutter that is not an object."""
    ys, xs = np.mgrid[0:size, 0:size] / size
    start, end = rng.uniform(40, 215, 3), rng.uniform(40, 215, 3)
    direction = rng.uniform(0, 1)
    ramp = (direction * xs + (1 - direction) * ys)[..., None]
    pixels = start + (end - start) * ramp + rng.normal(0, 12, (size, size, 3))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(2, 7)):
        points = [tuple(rng.randint(0, size, 2)) for _ in range(2)]
        draw.line(points, fill=tuple(rng.randint(0, 256, 3)), width=int(rng.randint(1, 3)))
    for _ in range(rng.randint(0, 4)):
        x, y, r = rng.randint(0, size), rng.randint(0, size), rng.randint(2, 5)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randint(0, 256, 3)))
    return image


def make_image(rng, size, max_objects):
    """An image and its objects: (class index, (x1, y1, x2, y2) 0-based exclusive, hard, visible mask),
    the mask a boolean (size, size) array of the object's pixels that no later object covers."""
    image = background(rng, size)
    draw = ImageDraw.Draw(image)
    owner = np.full((size, size), -1)
    objects = []
    for index in range(rng.randint(1, max_objects + 1)):
        side = int(size * rng.uniform(0.12, 0.5))
        aspect = rng.uniform(0.7, 1.4)
        w, h = max(8, int(side * aspect)), max(8, int(side / aspect))
        x1, y1 = rng.randint(0, size - w + 1), rng.randint(0, size - h + 1)
        box = (x1, y1, x1 + w, y1 + h)
        label = rng.randint(len(CLASSES))
        colour = tuple(int(c) for c in rng.randint(0, 256, 3))
        mask = Image.new('L', (size, size))
        draw_shape(ImageDraw.Draw(mask), CLASSES[label], box, 255)
        draw_shape(draw, CLASSES[label], box, colour)
        owner[np.asarray(mask) > 0] = index
        objects.append((label, box, int((np.asarray(mask) > 0).sum())))
    annotated = []
    for index, (label, box, area) in enumerate(objects):
        mask = owner == index
        visible = mask.sum() / max(area, 1)
        if visible > 0:
            annotated.append((label, box, visible < MIN_VISIBLE, mask))
    return image, annotated


def coco_rle(mask):
    """A boolean mask as COCO's compressed RLE, JSON-ready (counts as text), and its pixel count."""
    rle = mask_utils.encode(np.asfortranarray(mask, dtype=np.uint8))
    return dict(size=[int(n) for n in rle['size']], counts=rle['counts'].decode('ascii')), int(mask.sum())


def voc_xml(image_id, size, objects):
    root = ElementTree.Element('annotation')
    ElementTree.SubElement(root, 'folder').text = 'VOCdemo'
    ElementTree.SubElement(root, 'filename').text = f'{image_id}.jpg'
    size_node = ElementTree.SubElement(root, 'size')
    for name, value in (('width', size), ('height', size), ('depth', 3)):
        ElementTree.SubElement(size_node, name).text = str(value)
    for label, (x1, y1, x2, y2), hard, _ in objects:
        node = ElementTree.SubElement(root, 'object')
        ElementTree.SubElement(node, 'name').text = CLASSES[label]
        ElementTree.SubElement(node, 'difficult').text = str(int(hard))
        box = ElementTree.SubElement(node, 'bndbox')
        # VOC counts pixels from 1, and its max corner is inclusive.
        for name, value in (('xmin', x1 + 1), ('ymin', y1 + 1), ('xmax', x2), ('ymax', y2)):
            ElementTree.SubElement(box, name).text = str(value)
    return ElementTree.ElementTree(root)


def generate(out, num_train, num_val, size, max_objects, seed):
    out = Path(out)
    voc = out / 'VOCdemo'
    for folder in (voc / 'JPEGImages', voc / 'Annotations', voc / 'ImageSets' / 'Main', out / 'annotations'):
        folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(seed)
    counts = {}
    for split, count in (('train', num_train), ('val', num_val)):
        coco = dict(images=[], annotations=[],
                    categories=[dict(id=i + 1, name=name) for i, name in enumerate(CLASSES)])
        ids = []
        for k in range(count):
            image_id = f'{split}_{k:05d}'
            image, objects = make_image(rng, size, max_objects)
            image.save(voc / 'JPEGImages' / f'{image_id}.jpg', quality=95)
            voc_xml(image_id, size, objects).write(voc / 'Annotations' / f'{image_id}.xml')
            ids.append(image_id)
            coco['images'].append(dict(id=k + 1, file_name=f'{image_id}.jpg', width=size, height=size))
            for label, (x1, y1, x2, y2), hard, mask in objects:
                segmentation, area = coco_rle(mask)
                coco['annotations'].append(dict(
                    id=len(coco['annotations']) + 1, image_id=k + 1, category_id=label + 1,
                    bbox=[x1, y1, x2 - x1, y2 - y1], area=area, iscrowd=int(hard),
                    segmentation=segmentation))
            if sys.stderr.isatty() or (k + 1) % 100 == 0 or k + 1 == count:
                print(f'\r{split}: {k + 1}/{count} images', end='\n' if k + 1 == count else '',
                      file=sys.stderr, flush=True)
        (voc / 'ImageSets' / 'Main' / f'{split}.txt').write_text('\n'.join(ids) + '\n')
        (out / 'annotations' / f'instances_{split}.json').write_text(json.dumps(coco))
        counts[split] = (count, len(coco['annotations']))
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='data/demo', help='output folder (default: data/demo)')
    parser.add_argument('--train', type=int, default=400, help='training images (default: 400)')
    parser.add_argument('--val', type=int, default=100, help='validation images (default: 100)')
    parser.add_argument('--size', type=int, default=128, help='image side in pixels (default: 128)')
    parser.add_argument('--max-objects', type=int, default=4, help='objects per image, at most (default: 4)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    if args.train < 1 or args.val < 1:
        parser.error(f'--train and --val must be >= 1, got {args.train} and {args.val}')
    if args.size < 32:
        parser.error(f'--size must be >= 32, got {args.size}')
    if args.max_objects < 1:
        parser.error(f'--max-objects must be >= 1, got {args.max_objects}')
    counts = generate(args.out, args.train, args.val, args.size, args.max_objects, args.seed)
    for split, (images, boxes) in counts.items():
        print(f'{split}: {images} images, {boxes} boxes -> {args.out}')


if __name__ == '__main__':
    main()
