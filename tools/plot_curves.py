"""Draws the training loss of each of one or more runs (a panel each: different losses are not on
one scale) and their validation AP (one shared panel) into one PNG, from the scalar logs mmengine
writes (RUN_DIR/<timestamp>/vis_data/scalars.json).

    python tools/plot_curves.py work_dirs/demo/aploss work_dirs/demo/focal --out curves.png
    python tools/plot_curves.py RUN_A RUN_B --labels "AP-Loss" "focal loss" --metric coco/bbox_mAP_50

A RUN_DIR may be a work dir (all its timestamped runs are read in order, so a resumed run continues
the curve) or one timestamped run.
"""
import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

METRICS = ('coco/bbox_mAP', 'pascal_voc/mAP')


def read_run(run_dir):
    """(loss points, {metric: points}) of a run, each point (iteration, value), sorted by iteration;
    a later log's value replaces an earlier one at the same iteration (a resumed run)."""
    logs = sorted(Path(run_dir).glob('**/vis_data/scalars.json'))
    if not logs:
        raise FileNotFoundError(f'{run_dir}: no vis_data/scalars.json below it (is it an mmengine work dir?)')
    loss, metrics = {}, {}
    for log in logs:
        for line in log.read_text().splitlines():
            record = json.loads(line)
            if 'loss' in record and 'iter' in record:
                loss[record['iter']] = record['loss']
            for name, value in record.items():
                if '/' in name and isinstance(value, (int, float)):
                    metrics.setdefault(name, {})[record['step']] = value
    return sorted(loss.items()), {name: sorted(points.items()) for name, points in metrics.items()}


def plot(runs, labels, metric, out):
    """One panel per run for its training loss (losses of different kinds have different scales:
    only the shape of each curve is comparable), then one panel with every run's validation AP."""
    figure, axes = plt.subplots(1, len(runs) + 1, figsize=(4.2 * (len(runs) + 1), 3.8), squeeze=False)
    *loss_axes, metric_axis = axes[0]
    colours = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for k, ((loss, metrics), label, loss_axis) in enumerate(zip(runs, labels, loss_axes)):
        colour = colours[k % len(colours)]
        if loss:
            loss_axis.plot(*zip(*loss), color=colour)
        loss_axis.set(title=f'training loss: {label}', xlabel='iteration', ylabel='its own loss')
        name = metric or next((m for m in METRICS if m in metrics), None)
        if name in metrics:
            metric_axis.plot(*zip(*metrics[name]), marker='o', color=colour, label=label)
            metric_axis.set_ylabel(name)
    metric_axis.set(title='validation AP (comparable)', xlabel='iteration')
    for axis in axes[0]:
        axis.grid(alpha=0.3)
    if metric_axis.get_legend_handles_labels()[0]:
        metric_axis.legend()
    figure.tight_layout()
    figure.savefig(out, dpi=100)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('runs', nargs='+', metavar='RUN_DIR')
    parser.add_argument('--labels', nargs='+', help='one legend label per run (default: folder names)')
    parser.add_argument('--metric', help=f'validation metric to draw (default: the first of {METRICS} logged)')
    parser.add_argument('--out', default='curves.png', help='output PNG (default: curves.png)')
    args = parser.parse_args(argv)
    labels = args.labels or [Path(run).name for run in args.runs]
    if len(labels) != len(args.runs):
        parser.error(f'--labels: {len(labels)} labels for {len(args.runs)} runs')
    try:
        runs = [read_run(run) for run in args.runs]
    except FileNotFoundError as error:
        parser.error(str(error))
    plot(runs, labels, args.metric, args.out)
    print(f'wrote {args.out}')
    return runs


if __name__ == '__main__':
    main()
