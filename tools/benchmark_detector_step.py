"""Times whole training steps of mmdet's RetinaNet R50-FPN with AP-Loss, on generated images: the
seconds per step of one head, or, with --compare, of the current tree's stock RetinaHead (whose
per-level calls of a ranking loss_cls mmdet_losses gathers into one ranking) against another tree's
(an older commit's) APLossRetinaHead, in alternated processes.

The detector is mmdet's own config (retinanet/retinanet_r50_fpn_1x_coco.py, as the installed mmdet
ships it) with random weights (the backbone's init_cfg dropped: nothing downloads), 80 classes,
``loss_cls=dict(type='APLoss', use_sigmoid=True)`` and the head type given by --head. Each step is
mmengine's ``train_step`` as mmdet's training runs it: the images and their data samples through the
detector's data_preprocessor, the forward pass in mode='loss', the sum of the losses
(``parse_losses``), the backward pass and an SGD step (momentum 0.9). The images (--batch per step,
--size px square, noise with 2 to 6 random boxes of random classes each) are generated once, from a
fixed seed, and reused by every step. One process prints one JSON line (the median and the mean
seconds per timed step) on stdout and the mmdet_losses it imported on stderr.

    python tools/benchmark_detector_step.py --head RetinaHead           # one process, this tree
    python tools/benchmark_detector_step.py --head APLossRetinaHead --size 800 --iters 20

The comparison (after: this tree, --head RetinaHead; before: the tree given, --head
APLossRetinaHead; e.g. a worktree of the older commit with the compiled op copied into its
mmdet_losses/): --pairs pairs of processes alternated before, after, before, after, ..., then as
many pairs of this tree against itself (after, after, ...): the A/A spread, the noise of the
measurement. Each process imports mmdet_losses from its tree (PYTHONPATH), which is checked:

    git worktree add --detach "$BEFORE" 3d63654      # BEFORE: a new folder outside this tree
    cp mmdet_losses/_C.*.so "$BEFORE/mmdet_losses/"
    python tools/benchmark_detector_step.py --compare "$BEFORE" --pairs 10 --iters 10

On 2 CPU cores a step takes about 4 s and a process about 15 s more (imports, building the
detector): --pairs 10 --iters 3 (docs/benchmarks.md) ran 40 processes in 23 minutes. It prints each
process's median as it ends, then a markdown table: the medians over the processes,
after / before, and the A/A ratio with the range of the per-pair ratios.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

REPOSITORY = Path(__file__).resolve().parents[1]
MMDET_CONFIG = 'retinanet/retinanet_r50_fpn_1x_coco.py'


def build_detector(head, classes):
    """mmdet's RetinaNet R50-FPN (its own config) with AP-Loss in a head of type ``head``."""
    import mmdet
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    import mmdet_losses  # noqa: F401  (registers APLoss and the heads in mmdet's registry)

    register_all_modules()
    cfg = Config.fromfile(str(Path(mmdet.__file__).parent / '.mim' / 'configs' / MMDET_CONFIG))
    cfg.model.backbone.init_cfg = None
    head_cfg = cfg.model.bbox_head
    head_cfg.type, head_cfg.num_classes = head, classes
    head_cfg.loss_cls = dict(type='APLoss', use_sigmoid=True)  # replaces the focal loss's settings
    return MODELS.build(cfg.model)


def generated_batch(batch, size, classes, seed):
    """mmdet's input for ``batch`` images of noise (uint8, 3 x size x size), each with 2 to 6 boxes
    (sides 16 px to half the image) of random classes."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    generator = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=generator))
        boxes = int(torch.randint(2, 7, (1,), generator=generator))
        corner = torch.rand(boxes, 2, generator=generator) * size / 2
        side = 16 + torch.rand(boxes, 2, generator=generator) * (size / 2 - 16)
        sample = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                             scale_factor=(1.0, 1.0), img_id=len(samples)))
        sample.gt_instances = InstanceData(bboxes=torch.cat([corner, corner + side], 1),
                                           labels=torch.randint(0, classes, (boxes,), generator=generator))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def seconds_per_step(args):
    """(median, mean) seconds of ``args.iters`` training steps after ``args.warmup``."""
    from mmengine.optim import OptimWrapper

    torch.manual_seed(0)
    model = build_detector(args.head, args.classes).train()
    optim_wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9))
    data = generated_batch(args.batch, args.size, args.classes, seed=0)
    times = []
    for step in range(args.warmup + args.iters):
        start = time.perf_counter()
        log_vars = model.train_step(data, optim_wrapper)
        elapsed = time.perf_counter() - start
        if not torch.isfinite(log_vars['loss']):
            raise RuntimeError(f'{args.head}: the loss is {log_vars["loss"].item()} at step {step}')
        if step >= args.warmup:
            times.append(elapsed)
    return statistics.median(times), statistics.mean(times)


def measure(args):
    """One process's measurement: the JSON line's fields."""
    import mmdet_losses

    print(f'mmdet_losses: {mmdet_losses.__file__}', file=sys.stderr, flush=True)
    torch.set_num_threads(args.threads)
    median, mean = seconds_per_step(args)
    return dict(head=args.head, median_s=median, mean_s=mean, iters=args.iters, warmup=args.warmup,
                batch=args.batch, size=args.size, classes=args.classes, threads=torch.get_num_threads(),
                torch=torch.__version__, mmdet_losses=str(Path(mmdet_losses.__file__).resolve().parent))


def run_process(tree, head, args):
    """This script in a new process that imports mmdet_losses from ``tree``: its JSON line."""
    command = [sys.executable, str(Path(__file__).resolve()), '--head', head, '--iters', str(args.iters),
               '--warmup', str(args.warmup), '--batch', str(args.batch), '--size', str(args.size),
               '--classes', str(args.classes), '--threads', str(args.threads)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tree)] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f'{head} in {tree} failed:\n{done.stderr[-4000:]}')
    row = json.loads(done.stdout.strip().splitlines()[-1])
    if Path(row['mmdet_losses']) != (tree / 'mmdet_losses').resolve():
        raise RuntimeError(f'the process for {tree} imported mmdet_losses from {row["mmdet_losses"]}')
    return row


def alternated(runs, pairs, args):
    """``pairs`` rounds of the two (label, tree, head) ``runs``, one process each, in turn: the
    per-process medians of each."""
    medians = {label: [] for label, _, _ in runs}
    for pair in range(pairs):
        for label, tree, head in runs:
            row = run_process(tree, head, args)
            medians[label].append(row['median_s'])
            print(f'pair {pair + 1}/{pairs} {label}: {row["median_s"]:.4f} s/step (mmdet_losses from '
                  f'{row["mmdet_losses"]})', flush=True)
    return medians


def ratio_row(name, first, second, medians):
    """A table row: the medians over the processes of ``first`` and ``second``, their ratio and
    the range of the per-pair ratios second / first."""
    per_pair = [b / a for a, b in zip(medians[first], medians[second])]
    a, b = statistics.median(medians[first]), statistics.median(medians[second])
    return (f'| {name} | {a:.4f} | {b:.4f} | {b / a:.3f} | {min(per_pair):.3f} - {max(per_pair):.3f} |',
            b / a)


def compare(args):
    before = Path(args.compare).resolve()
    if not (before / 'mmdet_losses' / '__init__.py').is_file():
        raise SystemExit(f'--compare: {before} has no mmdet_losses/ package')
    start = time.perf_counter()
    ab = alternated([('before', before, 'APLossRetinaHead'), ('after', REPOSITORY, 'RetinaHead')], args.pairs, args)
    aa = alternated([('after A1', REPOSITORY, 'RetinaHead'), ('after A2', REPOSITORY, 'RetinaHead')],
                    args.pairs, args)
    ab_row, ratio = ratio_row('after / before: RetinaHead (this tree) / APLossRetinaHead (the other)',
                              'before', 'after', ab)
    aa_row, spread = ratio_row('A/A: RetinaHead / RetinaHead (this tree)', 'after A1', 'after A2', aa)
    print(f'\nRetinaNet R50-FPN (mmdet), APLoss, {args.batch} x {args.size}x{args.size}, {args.classes} classes, '
          f'{args.iters} steps after {args.warmup} per process, {args.pairs} pairs, {args.threads} threads, '
          f'torch {torch.__version__}; {time.perf_counter() - start:.0f} s in all')
    print('| comparison | first: median s/step | second: median s/step | second / first | per-pair ratios |')
    print('|---|---|---|---|---|')
    print(ab_row)
    print(aa_row)
    return dict(ratio=ratio, aa_ratio=spread, ab=ab, aa=aa)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     epilog='\n\n'.join(__doc__.split('\n\n')[1:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--head', default='RetinaHead', help='the bbox_head type (RetinaHead, APLossRetinaHead)')
    parser.add_argument('--batch', type=int, default=2, help='images per step')
    parser.add_argument('--size', type=int, default=512, help='image side in pixels')
    parser.add_argument('--classes', type=int, default=80)
    parser.add_argument('--iters', type=int, default=10, help='timed steps per process')
    parser.add_argument('--warmup', type=int, default=3, help='untimed steps first')
    parser.add_argument('--threads', type=int, default=len(os.sched_getaffinity(0)),
                        help='torch.set_num_threads (default: every core this process may use)')
    parser.add_argument('--compare', metavar='BEFORE_TREE',
                        help='alternate processes of BEFORE_TREE (APLossRetinaHead) and this tree (RetinaHead)')
    parser.add_argument('--pairs', type=int, default=10, help='with --compare: pairs of processes per comparison')
    args = parser.parse_args(argv)
    for name in ('batch', 'size', 'classes', 'iters', 'threads', 'pairs'):
        if getattr(args, name) < 1:
            parser.error(f'--{name} must be >= 1, got {getattr(args, name)}')
    if args.warmup < 0:
        parser.error(f'--warmup must be >= 0, got {args.warmup}')
    if args.compare:
        return compare(args)
    row = measure(args)
    print(json.dumps(row), flush=True)
    return row


if __name__ == '__main__':
    main()
