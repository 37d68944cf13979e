"""The embedded demo: trains a small detector (RetinaNet, ATSS, Mask R-CNN, SOLOv2 or DINO; ResNet-18 at half
width, 128 px) on the demo data on the CPU with each loss of a comparison and with its focal-loss baseline;
evaluates every run with the COCO metric (pycocotools) and the VOC metric; prints a side-by-side table; and
writes under OUT a plot of each run's training loss and all runs' validation AP (curves_<comparison>.png) and
validation images with each model's best boxes drawn (predictions_<comparison>.png). Comparisons:

    aploss     AP-Loss over the whole minibatch vs focal loss            (make demo)
    harmonic   Harmonic loss, Harmonic loss + HIoU vs focal loss         (make demo-harmonic)
    classification  Anchor Loss, Two-way loss, UniLoss vs focal loss     (make demo-classification)
    rank_sort  RS-ATSS (Rank & Sort loss) vs mmdet's ATSS (focal loss)   (make demo-rank-sort)
    rank_sort_mask  RS-Mask R-CNN vs mmdet's Mask R-CNN, box and mask AP (make demo-rank-sort-mask)
    rank_sort_solov2  RS-SOLOv2 vs mmdet's SOLOv2, mask AP              (make demo-rank-sort-solov2)
    alrp       aLRP Loss vs the AP-Loss and focal-loss runs of `aploss`  (make demo-alrp)
    detr       RS-DINO (Rank & Sort) vs mmdet's DINO, small, 600 iterations (make demo-detr)

    python tools/demo.py                       # --compare aploss, OUT = work_dirs/demo, data in data/demo
    python tools/demo.py --compare harmonic
    python tools/demo.py --iters 200 --out work_dirs/demo_short

Instance segmentation (an evaluator with 'segm'): the table gives the COCO AP of the masks, and of
the boxes where the evaluator scores them too (SOLOv2 predicts masks only), without the VOC metric
(VOC has no masks); the predictions picture shows each best box's mask (SOLOv2: each mask and its
bounding box).

A finished run of the same config and the same mmdet_losses (its Python files and compiled op) is
reused (the focal-loss baseline by the comparisons that share it); a changed config or package
trains again. Delete a run's folder under OUT to train it again anyway.
"""
import argparse
import copy
import hashlib
import json
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import make_demo_data  # noqa: E402
import plot_curves  # noqa: E402

BASELINE = ('focal loss', 'focal', 'configs/demo/retinanet_r18_fpn_focal_1xb8-1100i_demo.py')
AP_LOSS = ('AP-Loss', 'aploss', 'configs/demo/retinanet_r18_fpn_aploss_1xb8-1100i_demo.py')
COMPARISONS = {
    'aploss': (AP_LOSS, BASELINE),
    'harmonic': (('Harmonic loss', 'harmonic', 'configs/harmonic/retinanet_r18_fpn_harmonic_1xb8-1100i_demo.py'),
                 ('Harmonic + HIoU', 'harmonic_hiou',
                  'configs/harmonic/retinanet_r18_fpn_harmonic-hiou_1xb8-1100i_demo.py'),
                 BASELINE),
    'classification': (('Anchor Loss', 'anchor_loss',
                        'configs/anchor_loss/retinanet_r18_fpn_anchor-loss_1xb8-1100i_demo.py'),
                       ('Two-way loss', 'two_way', 'configs/two_way/retinanet_r18_fpn_two-way_1xb8-1100i_demo.py'),
                       ('UniLoss', 'uniloss', 'configs/uniloss/retinanet_r18_fpn_uniloss_1xb8-1100i_demo.py'),
                       BASELINE),
    'rank_sort': (('RS-ATSS (Rank & Sort)', 'rs_atss', 'configs/rank_sort/rs_atss_r18_fpn_1xb8-1100i_demo.py'),
                  ('ATSS (focal loss)', 'atss', 'configs/rank_sort/atss_r18_fpn_1xb8-1100i_demo.py')),
    'rank_sort_mask': (('RS-Mask R-CNN (Rank & Sort)', 'rs_mask_rcnn',
                        'configs/rank_sort/rs_mask-rcnn_r18_fpn_1xb8-800i_demo.py'),
                       ('Mask R-CNN', 'mask_rcnn', 'configs/rank_sort/mask-rcnn_r18_fpn_1xb8-800i_demo.py')),
    'rank_sort_solov2': (('RS-SOLOv2 (Rank & Sort)', 'rs_solov2',
                          'configs/rank_sort/rs_solov2_r18_fpn_1xb8-1600i_demo.py'),
                         ('SOLOv2', 'solov2', 'configs/rank_sort/solov2_r18_fpn_1xb8-1600i_demo.py')),
    'alrp': (('aLRP Loss', 'alrp', 'configs/alrp/retinanet_r18_fpn_alrp_1xb8-1100i_demo.py'), AP_LOSS, BASELINE),
    'detr': (('RS-DINO (Rank & Sort)', 'rs_dino', 'configs/rank_sort/rs_dino_r18_1xb8-1100i_demo.py'),
             ('DINO (focal loss)', 'dino', 'configs/rank_sort/dino_r18_1xb8-1100i_demo.py')),
}
# Training iterations of a comparison, where not the default 1100 (a Mask R-CNN step costs more, a
# DINO step twice a RetinaNet's, a small SOLOv2's about half).
ITERS = dict(rank_sort_mask=800, detr=600, rank_sort_solov2=1600)
SHOWN_IMAGES = 3
BOXES_PER_IMAGE = 3
SCALE = 4  # 128-px images drawn at 512 px
MASK_ALPHA = 0.45  # a predicted mask's opacity over the image, in its box's colour
GROUND_TRUTH, PREDICTED = (0, 170, 0), (220, 0, 0)

def config(path, data, work_dir, iters):
    from runner_setup import load_config

    cfg = load_config(str(ROOT / path), work_dir=str(work_dir))
    root = f'{Path(data).resolve()}/'
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[split].dataset.data_root = root
    for split in ('val_evaluator', 'test_evaluator'):
        cfg[split].ann_file = root + 'annotations/instances_val.json'
    # The schedule's shape (warm-up, then lr / 10 for the last quarter) at any length.
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = max(1, iters // 4)
    cfg.param_scheduler[-1].update(end=iters, milestones=[iters * 3 // 4])
    cfg.default_hooks.checkpoint.interval = iters
    return cfg


def coco_metrics(cfg):
    """What the config's COCO evaluator scores: 'bbox', 'segm' (instance masks) or both."""
    metric = cfg.val_evaluator.get('metric', 'bbox')
    return [metric] if isinstance(metric, str) else list(metric)


def stale(data):
    """Whether the demo data in DATA is missing or older than make_demo_data.py's masks: an
    annotation without a segmentation (data made before the masks) is regenerated."""
    paths = [Path(data) / 'annotations' / f'instances_{split}.json' for split in ('train', 'val')]
    if not all(path.is_file() for path in paths):
        return True
    return any(not annotation.get('segmentation')
               for path in paths for annotation in json.loads(path.read_text())['annotations'])


def own_visualizer(cfg, name):
    """mmdet's runtime names every visualizer 'visualizer', and mmengine keeps one instance per name
    in a process: without a name of its own (its work dir) a second runner would log into the
    first one's folder. Returns a deep copy, which the caller may change freely."""
    cfg = copy.deepcopy(cfg)
    cfg.visualizer.name = name
    return cfg


def package_fingerprint():
    """A hash of the installed mmdet_losses: its Python files and its compiled op."""
    import mmdet_losses

    digest = hashlib.sha256()
    root = Path(mmdet_losses.__file__).parent
    for path in sorted(root.rglob('*')):
        if path.suffix in ('.py', '.so', '.pyd') and path.is_file():
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def train(cfg, work_dir, iters):
    """Trains unless a finished run of the same config with the same mmdet_losses is there;
    returns the training time in seconds."""
    from mmengine.runner import Runner

    record = work_dir / 'demo_train.json'
    fingerprint = hashlib.sha256(cfg.pretty_text.encode()).hexdigest()
    code = package_fingerprint()
    if (work_dir / f'iter_{iters}.pth').is_file() and record.is_file():
        finished = json.loads(record.read_text())
        if finished.get('config') == fingerprint and finished.get('code') == code:
            print(f'reusing the finished run in {work_dir}')
            return finished['seconds']
        print(f'the config or mmdet_losses changed since the run in {work_dir}: training it again')
    started = time.perf_counter()
    Runner.from_cfg(own_visualizer(cfg, f'{work_dir.resolve()}:train')).train()
    seconds = time.perf_counter() - started
    record.write_text(json.dumps(dict(seconds=seconds, iters=iters, config=fingerprint, code=code)))
    return seconds


def evaluate(cfg, checkpoint, work_dir, data, voc):
    from mmengine.runner import Runner

    cfg = own_visualizer(cfg, f'{work_dir.resolve()}:test')
    cfg.load_from = str(checkpoint)
    cfg.work_dir = str(work_dir)
    if voc:
        cfg.test_dataloader.dataset = dict(
            type='VOCDataset', data_root=f'{Path(data).resolve()}/', test_mode=True,
            ann_file='VOCdemo/ImageSets/Main/val.txt', data_prefix=dict(sub_data_root='VOCdemo/'),
            metainfo=dict(classes=make_demo_data.CLASSES), pipeline=cfg.test_dataloader.dataset.pipeline)
        cfg.test_evaluator = dict(type='VOCMetric', metric='mAP', eval_mode='area')
    return Runner.from_cfg(cfg).test()


def draw_predictions(models, data, out):
    """Rows: models; columns: validation images, enlarged, each with the model's BOXES_PER_IMAGE
    best boxes after NMS across classes (red, labelled with class and score) over the ground truth
    (green); with masks, each box's mask filled in translucent red. A model that predicts masks
    only (its evaluator scores no 'bbox') is drawn with its masks' bounding boxes."""
    from mmdet.apis import inference_detector
    from mmdet.structures.mask import mask2bbox
    from PIL import ImageFont
    from torchvision.ops import nms

    font = ImageFont.load_default(size=18)
    annotations = json.loads((Path(data) / 'annotations' / 'instances_val.json').read_text())
    images = annotations['images'][:SHOWN_IMAGES]
    side, title = images[0]['width'] * SCALE, 30
    sheet = Image.new('RGB', (SHOWN_IMAGES * (side + 8), len(models) * (side + title) + title), 'white')
    legend = ImageDraw.Draw(sheet)
    legend.text((4, 4), 'green: ground truth', fill=GROUND_TRUTH, font=font)
    legend.text((220, 4), f'red: the {BOXES_PER_IMAGE} best boxes after NMS across classes', fill=PREDICTED, font=font)
    for row, (label, model) in enumerate(models):
        masks_only = 'bbox' not in coco_metrics(model.cfg)
        top_y = title + row * (side + title)
        legend.text((4, top_y + 4), label, fill='black', font=font)
        for column, image in enumerate(images):
            path = Path(data) / 'VOCdemo' / 'JPEGImages' / image['file_name']
            prediction = inference_detector(model, str(path)).pred_instances
            if masks_only:
                prediction.bboxes = mask2bbox(prediction.masks).float()
            # The model's NMS is per class; across classes too, one object shows one box.
            best = nms(prediction.bboxes, prediction.scores, 0.5)[:BOXES_PER_IMAGE]
            canvas = Image.open(path).convert('RGB').resize((side, side), Image.NEAREST)
            if 'masks' in prediction:
                for k in best.tolist():
                    mask = Image.fromarray(prediction.masks[k].cpu().numpy().astype('uint8') * 255)
                    mask = mask.resize((side, side), Image.NEAREST).point(lambda v: int(v * MASK_ALPHA))
                    canvas.paste(Image.new('RGB', (side, side), PREDICTED), (0, 0), mask)
            draw = ImageDraw.Draw(canvas)
            for box in (a['bbox'] for a in annotations['annotations'] if a['image_id'] == image['id']):
                x, y, w, h = (v * SCALE for v in box)
                draw.rectangle((x, y, x + w, y + h), outline=GROUND_TRUTH, width=3)
            for k in best.tolist():
                x1, y1, x2, y2 = (v * SCALE for v in prediction.bboxes[k].tolist())
                draw.rectangle((x1, y1, x2, y2), outline=PREDICTED, width=3)
                text = f'{make_demo_data.CLASSES[int(prediction.labels[k])]} {float(prediction.scores[k]):.2f}'
                # White on the box colour, inside the image, so that any background leaves it legible.
                left, top = max(0, x1), max(0, y1 - 22)
                bounds = draw.textbbox((left + 3, top + 1), text, font=font)
                draw.rectangle((left, top, bounds[2] + 3, bounds[3] + 2), fill=PREDICTED)
                draw.text((left + 3, top + 1), text, fill='white', font=font)
            sheet.paste(canvas, (column * (side + 8), top_y + title))
    sheet.save(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--compare', choices=sorted(COMPARISONS), default='aploss',
                        help='which losses to train against their focal-loss baseline (default: aploss)')
    parser.add_argument('--data', default='data/demo', help='demo data folder (made if absent)')
    parser.add_argument('--out', default='work_dirs/demo', help='output folder (default: work_dirs/demo)')
    parser.add_argument('--iters', type=int,
                        help='training iterations per model (default: 1100; rank_sort_mask: 800, detr: 600, '
                             'rank_sort_solov2: 1600)')
    args = parser.parse_args(argv)
    if args.iters is None:
        args.iters = ITERS.get(args.compare, 1100)
    if args.iters < 4:
        parser.error(f'--iters must be >= 4, got {args.iters}')

    import mmdet_losses  # noqa: F401  (registers the modules; lets torch.load read checkpoints)
    from mmdet.apis import init_detector

    data, out = Path(args.data), Path(args.out)
    if stale(data):
        print(f'== generating the demo data (with instance masks) in {data}')
        make_demo_data.main(['--out', str(data)])
    runs = COMPARISONS[args.compare]
    rows, models = [], []
    for label, slug, path in runs:
        work_dir = out / slug
        cfg = config(path, data, work_dir, args.iters)
        print(f'== training {label}: {path}, {args.iters} iterations -> {work_dir}')
        seconds = train(cfg, work_dir, args.iters)
        checkpoint = work_dir / f'iter_{args.iters}.pth'
        metrics = coco_metrics(cfg)
        masks = 'segm' in metrics
        print(f'== evaluating {label} (COCO {" and ".join(metrics)}{"" if masks else " and VOC"} metrics)')
        coco = evaluate(cfg, checkpoint, out / 'eval' / f'{slug}_coco', data, voc=False)
        voc = {} if masks else evaluate(cfg, checkpoint, out / 'eval' / f'{slug}_voc', data, voc=True)
        rows.append((label, coco, voc, seconds))
        models.append((label, init_detector(cfg, str(checkpoint), device='cpu')))

    curves, predictions = out / f'curves_{args.compare}.png', out / f'predictions_{args.compare}.png'
    plot_curves.main([str(out / slug) for _, slug, _ in runs]
                     + ['--labels', *[label for label, _, _ in runs], '--out', str(curves)]
                     + (['--metric', 'coco/segm_mAP'] if masks else []))
    draw_predictions(models, data, predictions)
    print(f'wrote {curves} and {predictions}')

    print(f'\nDemo: ResNet-18 (half width) detectors, 128 px, {args.iters} iterations of batch 8 on the CPU, '
          f'validation set of {data}')
    # (header, metric of the COCO results or, with pascal_voc/, of the VOC ones) per column.
    boxes = [('box AP', 'coco/bbox_mAP'), ('box AP50', 'coco/bbox_mAP_50')] if 'bbox' in metrics else []
    columns = ([('model', None), *boxes, ('mask AP', 'coco/segm_mAP'), ('mask AP50', 'coco/segm_mAP_50')]
               if masks else
               [('loss', None), ('COCO AP', 'coco/bbox_mAP'), ('AP50', 'coco/bbox_mAP_50'),
                ('AP75', 'coco/bbox_mAP_75'), ('VOC mAP (IoU 0.5)', 'pascal_voc/mAP')])
    print('| ' + ' | '.join(header for header, _ in columns) + ' | training time |')
    print('|---' * (len(columns) + 1) + '|')
    for label, coco, voc, seconds in rows:
        values = [(voc if metric.startswith('pascal_voc/') else coco).get(metric, 0.0) for _, metric in columns[1:]]
        print(f'| {label} | ' + ' | '.join(f'{value:.3f}' for value in values) + f' | {seconds / 60:.1f} min |')
    return rows


if __name__ == '__main__':
    main()
