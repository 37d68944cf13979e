"""Bytes each process sends per training step for the ranking across processes (APLoss's
``ranking='global'``), measured on a config's own data, pipeline, anchors and assigner.

For each step, W x B images of the training set (B: the config's ``batch_size``, W: --processes)
go through the train pipeline, the data preprocessor and the model's backbone and neck (for the
feature map sizes); the head's own ``get_targets`` then gives each image's positive anchors, which
are the ranking's positive entries. A process sends 2 int64 counts, its positives' scores padded to
the largest count (float64), |P| + 2 summed float64 values (the first pass, the negative count, an
error flag), and one float64 for the box loss's normaliser.

    python tools/ranking_communication.py configs/demo/retinanet_r18_fpn_aploss_1xb8-1100i_demo.py --processes 2 \\
        --cfg-options train_dataloader.batch_size=4
"""
import argparse
import math
import statistics
import sys

import torch
from mmengine.config import DictAction
from mmengine.dataset import pseudo_collate

import mmdet_losses  # noqa: F401  (registers the losses and heads in mmdet's registry)
from mmdet_losses.functional.group_ranking import communicated_bytes
from runner_setup import load_config

NORMALISER_BYTES = 8  # the box loss's reduce_mean


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('--processes', type=int, required=True, help='W, the number of processes')
    parser.add_argument('--steps', type=int, default=10, help='training steps to measure (default 10)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, key=value (e.g. the dataset to read)')
    args = parser.parse_args(argv)
    if args.processes < 1 or args.steps < 1:
        parser.error(f'--processes and --steps must be >= 1, got {args.processes} and {args.steps}')
    return args


def positives_per_image(model, batch):
    """The number of positive anchors of each image of ``batch`` (a list of pipeline outputs)."""
    data = model.data_preprocessor(pseudo_collate(batch), training=True)
    samples = data['data_samples']
    with torch.no_grad():
        features = model.extract_feat(data['inputs'])
    head = model.bbox_head
    metas = [sample.metainfo for sample in samples]
    anchors, valid = head.get_anchors([f.shape[-2:] for f in features], metas, device='cpu')
    labels_list, label_weights_list = head.get_targets(
        anchors, valid, [sample.gt_instances for sample in samples], metas)[:2]
    num_classes = head.num_classes
    counts = torch.zeros(len(batch), dtype=torch.long)
    for labels, weights in zip(labels_list, label_weights_list):
        counts += ((labels >= 0) & (labels < num_classes) & (weights > 0)).sum(1)
    return counts.tolist()


def main(argv=None):
    args = parse_args(argv)
    from mmdet.registry import DATASETS, MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg = load_config(args.config, 'none', args.cfg_options)
    model = MODELS.build(cfg.model).eval()
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    per_process = cfg.train_dataloader.batch_size
    step_images = args.processes * per_process
    if len(dataset) < step_images:
        sys.exit(f'{args.config}: {len(dataset)} training images, fewer than one step needs ({step_images})')
    sent, positives = [], []
    for step in range(args.steps):
        first = step * step_images % (len(dataset) - step_images + 1)
        counts = positives_per_image(model, [dataset[first + k] for k in range(step_images)])
        process_counts = [sum(counts[r * per_process:(r + 1) * per_process]) for r in range(args.processes)]
        sent.append(communicated_bytes(process_counts) + NORMALISER_BYTES)
        positives.append(sum(process_counts))
        print(f'step {step + 1}/{args.steps}: positives per process {process_counts}, '
              f'{sent[-1]} bytes sent by each process', file=sys.stderr)
    result = dict(processes=args.processes, images_per_process=per_process,
                  positives=statistics.mean(positives), bytes_mean=statistics.mean(sent),
                  bytes_max=max(sent))
    print(f"{args.processes} processes x {per_process} images: {result['positives']:.0f} positive entries "
          f"per step on average; bytes sent per process per step: mean {result['bytes_mean']:.0f}, "
          f"max {result['bytes_max']} (about {math.ceil(result['bytes_max'] / 1024)} KiB)")
    return result


if __name__ == '__main__':
    main()
