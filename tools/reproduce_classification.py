"""Reruns the classification papers' own experiments at small scale on real images: scikit-learn's
handwritten digits (``sklearn.datasets.load_digits``: 1,797 images of 8 x 8 pixels, shipped with
scikit-learn, no download), a fixed stratified split (70% train, 30% test), several seeds (network
initialisation and batch order), on the CPU:

- **UniLoss** (Liu et al., ECCV 2020; supplement sec. 1.1): binary AP of one digit against the rest,
  with the supplement's MLP (hidden layers 500 and 300, ReLU, a 2-way output) on the 64 pixels
  instead of 784, SGD at a fixed lr 0.01 for 30 epochs, against 2-class cross-entropy; and 10-way
  accuracy with the same anchor scheme (16 anchors of each type) against 10-way cross-entropy;
- **Anchor Loss** (Ryou et al., ICCV 2019; supplement Table 1): gamma 0.5, slack 0.05, each way of
  setting the anchor ('pos', 'neg', 'both'), against cross-entropy, binary cross-entropy and focal
  loss (gamma 2) on the 10-way task;
- **Two-way loss** (Kobayashi, CVPR 2023): a multi-label task built from the digits, three test
  (or train) digits side by side (8 x 24 pixels) labelled with the set of digits present, against
  binary cross-entropy; mAP over classes and over samples (the supplement's Tables B and C) and F1
  of each image's top-k classes, k its number of distinct digits.

Every network is the same MLP (its input and output sizes aside) trained with SGD, lr 0.01,
momentum 0.9, batch 32, for --epochs epochs; each loss is scored on the test set after every epoch.
Prints a table (final test metric, mean +- standard deviation over the seeds) and writes a plot of
the test metric over epochs per loss (OUT/classification_curves.png) and the table
(OUT/classification_table.md).

    python tools/reproduce_classification.py                 # make reproduce: 3 seeds, 30 epochs
    python tools/reproduce_classification.py --seeds 1 --epochs 2 --subset 300
"""
import argparse
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import sigmoid_focal_loss

from mmdet_losses.functional import anchor_loss, two_way_loss, uniloss

BINARY_DIGIT = 3  # UniLoss's binary task: this digit against the other nine
TILES = 3  # digits per multi-label image
MULTI_LABEL_IMAGES = (3000, 1000)  # train, test


def load(subset=None):
    """(train_x, train_y, test_x, test_y): pixels scaled to [0, 1], the split fixed (stratified,
    random_state 0) whatever the seed."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    digits = load_digits()
    x = torch.tensor(digits.data, dtype=torch.float32) / 16
    y = torch.tensor(digits.target, dtype=torch.long)
    if subset is not None:
        x, y = x[:subset], y[:subset]
    train, test = train_test_split(range(len(y)), test_size=0.3, stratify=y.numpy(), random_state=0)
    return x[train], y[train], x[test], y[test]


def tiled(x, y, count, generator):
    """``count`` images of TILES random digits side by side and their multi-label targets (count, 10)."""
    pick = torch.randint(len(y), (count, TILES), generator=generator)
    images = x[pick].view(count, TILES, 8, 8).permute(0, 2, 1, 3).reshape(count, TILES * 64)
    targets = torch.zeros(count, 10)
    targets.scatter_(1, y[pick], 1.0)
    return images, targets


def mlp(inputs, outputs):
    """The UniLoss supplement's binary-classification network, for ``inputs`` pixels."""
    return nn.Sequential(nn.Linear(inputs, 500), nn.ReLU(), nn.Linear(500, 300), nn.ReLU(),
                         nn.Linear(300, outputs))


def average_precision(scores, labels):
    from sklearn.metrics import average_precision_score
    return float(average_precision_score(labels.numpy(), scores.numpy()))


def class_map(logits, targets):
    """Mean over classes of each class's AP over the images."""
    from sklearn.metrics import average_precision_score
    return float(average_precision_score(targets.numpy(), logits.numpy(), average='macro'))


def multi_label_metrics(logits, targets):
    """(mAP over classes, mAP over samples, F1 of each image's top-k classes, k = its label count)."""
    from sklearn.metrics import average_precision_score
    per_class = class_map(logits, targets)
    per_sample = average_precision_score(targets.numpy().T, logits.numpy().T, average='macro')
    counts = targets.sum(1).long()
    ranks = logits.argsort(1, descending=True).argsort(1)
    predicted = (ranks < counts[:, None]).float()
    true_positives = (predicted * targets).sum()
    f1 = float(2 * true_positives / (predicted.sum() + targets.sum()))
    return per_class, float(per_sample), f1


def binary_two_way(x):
    """The score an AP ranks by, from a 2-way output: the positive logit minus the negative."""
    return x[:, 1] - x[:, 0]


def per_sample(entry_losses):
    """A (n, classes) element-wise loss summed over the classes and averaged over the samples."""
    return entry_losses.sum(1).mean()


def experiments(generator):
    """name -> (task, output size, loss of (outputs, targets)); tasks: 'binary', 'tenway', 'multi'."""
    def ten_hot(y):
        return F.one_hot(y, 10).float()

    def bce(out, one_hot):
        return per_sample(F.binary_cross_entropy_with_logits(out, one_hot, reduction='none'))
    return {
        'binary: 2-class cross-entropy': ('binary', 2, lambda out, y: F.cross_entropy(out, y)),
        'binary: UniLoss (AP)': ('binary', 2, lambda out, y: uniloss(binary_two_way(out), y, 'binary_ap',
                                                                     generator=generator)),
        '10-way: cross-entropy': ('tenway', 10, lambda out, y: F.cross_entropy(out, y)),
        '10-way: UniLoss (accuracy)': ('tenway', 10, lambda out, y: uniloss(out, y, 'accuracy',
                                                                            generator=generator)),
        '10-way: binary cross-entropy': ('tenway', 10, lambda out, y: bce(out, ten_hot(y))),
        '10-way: focal loss (gamma 2)': ('tenway', 10, lambda out, y: per_sample(sigmoid_focal_loss(
            out, ten_hot(y), alpha=-1, gamma=2.0, reduction='none'))),
        **{f"10-way: Anchor Loss ('{mode}')": ('tenway', 10, lambda out, y, mode=mode: per_sample(anchor_loss(
            out, ten_hot(y), gamma=0.5, slack=0.05, mode=mode))) for mode in ('pos', 'neg', 'both')},
        'multi-label: binary cross-entropy': ('multi', 10, bce),
        'multi-label: Two-way loss': ('multi', 10, lambda out, y: two_way_loss(out, y)),
    }


METRIC_NAMES = {'binary': f'test AP (digit {BINARY_DIGIT} vs rest)', 'tenway': 'test accuracy',
                'multi': 'test mAP over classes'}


def run(name, task, outputs, loss_fn, data, seed, epochs):
    """Trains one network; returns the test metric after each epoch (and, for the multi-label task,
    the last epoch's (mAP@class, mAP@sample, F1))."""
    x, y, test_x, test_y = data[task]
    torch.manual_seed(seed)
    model = mlp(x.shape[1], outputs)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    order = torch.Generator().manual_seed(seed)
    curve, extra = [], None
    for _ in range(epochs):
        model.train()
        for batch in torch.randperm(len(y), generator=order).split(32):
            loss = loss_fn(model(x[batch]), y[batch])
            if not torch.isfinite(loss):
                raise FloatingPointError(f'{name}, seed {seed}: the loss became {loss.item()}')
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            out = model(test_x)
        if task == 'binary':
            curve.append(average_precision(binary_two_way(out), test_y))
        elif task == 'tenway':
            curve.append(float((out.argmax(1) == test_y).float().mean()))
        else:
            curve.append(class_map(out, test_y))
    if task == 'multi':
        extra = multi_label_metrics(out, test_y)
    return curve, extra


def summary(values):
    mean = statistics.fmean(values)
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f'{mean:.4f} +- {spread:.4f}'


def plot(curves, out):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    tasks = list(METRIC_NAMES)
    figure, axes = plt.subplots(1, len(tasks), figsize=(6 * len(tasks), 4.5))
    for axis, task in zip(axes, tasks):
        for name, (curve_task, runs) in curves.items():
            if curve_task != task:
                continue
            epochs = range(1, len(runs[0]) + 1)
            mean = [statistics.fmean(values) for values in zip(*runs)]
            axis.plot(epochs, mean, label=name.split(': ', 1)[1])
        axis.set_title(METRIC_NAMES[task])
        axis.set_xlabel('epoch')
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle('load_digits, test metric over epochs (mean over seeds)')
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seeds', type=int, default=3, help='seeds per loss (default: 3)')
    parser.add_argument('--epochs', type=int, default=30, help='epochs per run (default: 30)')
    parser.add_argument('--subset', type=int, default=None, help='use only the first N digits (for tests)')
    parser.add_argument('--out', default='work_dirs/reproduce', help='output folder (default: work_dirs/reproduce)')
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.epochs < 1:
        parser.error(f'--seeds and --epochs must be >= 1, got {args.seeds} and {args.epochs}')
    if args.subset is not None and args.subset < 50:
        parser.error(f'--subset must be >= 50 (every digit in both splits), got {args.subset}')

    x, y, test_x, test_y = load(args.subset)
    tiles = torch.Generator().manual_seed(0)
    scale = 1 if args.subset is None else args.subset / 1797
    train_count, test_count = (max(32, int(count * scale)) for count in MULTI_LABEL_IMAGES)
    data = {'binary': (x, (y == BINARY_DIGIT).long(), test_x, (test_y == BINARY_DIGIT).long()),
            'tenway': (x, y, test_x, test_y),
            'multi': (*tiled(x, y, train_count, tiles), *tiled(test_x, test_y, test_count, tiles))}
    print(f'load_digits: {len(y)} train, {len(test_y)} test digits; multi-label: {train_count} train, '
          f'{test_count} test images of {TILES} digits; {args.seeds} seeds x {args.epochs} epochs', flush=True)

    rows, curves = [], {}
    started = time.perf_counter()
    anchors = torch.Generator().manual_seed(0)
    for name, (task, outputs, loss_fn) in experiments(anchors).items():
        runs, extras = [], []
        for seed in range(args.seeds):
            anchors.manual_seed(seed)
            curve, extra = run(name, task, outputs, loss_fn, data, seed, args.epochs)
            runs.append(curve)
            extras.append(extra)
        curves[name] = (task, runs)
        final = [curve[-1] for curve in runs]
        if task == 'multi':
            cells = [summary([extra[i] for extra in extras]) for i in range(3)]
        else:
            cells = [summary(final), '', '']
        rows.append((name, *cells))
        print(f'[{time.perf_counter() - started:6.0f} s] {name}: {cells[0]}', flush=True)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = ['| task: loss | test metric (AP / accuracy / mAP over classes) | mAP over samples | F1 (top-k) |',
             '|---|---|---|---|'] + [f'| {name} | {metric} | {per_sample} | {f1} |'
                                      for name, metric, per_sample, f1 in rows]
    (out / 'classification_table.md').write_text('\n'.join(table) + '\n')
    plot(curves, out / 'classification_curves.png')
    print('\n' + '\n'.join(table))
    print(f'\nwrote {out / "classification_table.md"} and {out / "classification_curves.png"} '
          f'({(time.perf_counter() - started) / 60:.1f} min, torch {torch.__version__}, '
          f'{torch.get_num_threads()} threads)')
    return rows


if __name__ == '__main__':
    main()
