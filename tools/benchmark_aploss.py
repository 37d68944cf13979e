"""Times AP-Loss and the Rank & Sort loss (forward and backward) against their authors' algorithms,
the per-positive loop, one torch.sort and the memory floor, on CPU and (when present) CUDA.

Each size is N entries of which P are positives, with scores drawn three ways:

- ``normal``: every score N(0, 1);
- ``start``: every logit near the focal-loss prior -4.6 (-4.6 + 0.1 N(0, 1)), as at the start of
  training;
- ``trained``: negatives N(-7, 2), positives N(0.5, 1.5), as once a detector has learned.

Columns (medians of --repeat runs, all measured in turn in one run so that the ratios hold on a busy
machine):

- **op**: ``ap_loss`` (or ``rank_sort_loss``) forward and backward (the loss and every entry's
  error-driven update);
- **official**: the authors' algorithm as it runs (AP-Loss: cccorn/AP-loss, ``lib/model/aploss.py``;
  Rank & Sort: kemaloksuz/RankSortLoss, ``mmdet/models/losses/ranking_losses.py``): drop the
  negatives below the lowest positive minus delta, then loop over the positives, each against every
  remaining negative and positive (``ap_loss_reference(prune=True)``,
  ``rank_sort_loss_reference(prune=True)``: the same result);
- **loop**: the same loop without the pruning (``*_reference``);
- **sort**: one ``torch.sort`` of the scores;
- **floor**: the memory floor with plain torch ops: two reads of scores and targets (the op's two
  passes; ``scores.sum()`` and ``targets.max()`` twice) and one write of a new gradient-sized tensor
  (``torch.empty_like(scores).fill_(0)``), timed in turns with the op. Each is a kernel that runs
  at memory speed: on the CPU a kernel that converts int8 targets to float (``scores * targets``,
  ``targets.sum()``) runs several times slower, and a floor built from it would flatter the op.

Rank & Sort's positives carry sorting targets (IoUs) drawn uniformly from [0.1, 1].

Both loops cost about the same for every positive, so above --loop-positives they run on a sample
(the lowest positive, which sets the pruning threshold, and others at random; the rest ignored) and
are scaled by P / sample; the table says so.

    python tools/benchmark_aploss.py                        # the sizes of docs/benchmarks.md
    python tools/benchmark_aploss.py --sizes 2e6:1000 --scores trained --devices cpu
    python tools/benchmark_aploss.py --losses rank_sort --sizes 2e6:1000
"""
import argparse
import statistics
import sys
import time
from typing import Callable, NamedTuple

import torch

from mmdet_losses.functional import (alrp_loss, alrp_loss_reference, ap_loss, ap_loss_reference, rank_sort_loss,
                                     rank_sort_loss_reference)
from mmdet_losses.ops import cuda_kernel_compiled

DEFAULT_SIZES = ['1e5:100', '2e6:1000', '2.1e7:1600']
DISTRIBUTIONS = ['normal', 'start', 'trained']
DTYPES = {'fp16': torch.float16, 'bf16': torch.bfloat16, 'fp32': torch.float32, 'fp64': torch.float64}


def with_quality(targets, generator):
    """Rank & Sort targets: each positive's 1 replaced by a sorting target (IoU) in [0.1, 1]."""
    quality = 0.1 + 0.9 * torch.rand(targets.shape, generator=generator)
    return torch.where(targets == 1, quality, targets.float())


_box_errors = {}


def box_errors(targets):
    """aLRP's localisation errors of the positives of ``targets``, in [0, 1) and a function of each
    positive's flat index (a sample of the positives keeps theirs); made once per targets tensor, as
    a head has them before its loss call."""
    if id(targets) not in _box_errors:
        index = torch.nonzero(targets.reshape(-1) == 1).squeeze(1)
        # The targets are kept with their errors: their id stays theirs.
        _box_errors[id(targets)] = targets, (index.double() * 0.6180339887).frac().float().to(targets.device)
    return _box_errors[id(targets)][1]


class Loss(NamedTuple):
    """A timed loss: ``op(scores, targets, delta)`` and ``reference(scores, targets, delta, prune)``
    (prune=True: the authors' algorithm; False: the plain loop) return the value whose backward is
    timed; ``targets(int8 targets, generator)`` makes the loss's targets."""
    title: str
    op: Callable
    reference: Callable
    targets: Callable
    delta: float


LOSSES = {
    'aploss': Loss('AP-Loss, int8 targets, interpolated', ap_loss,
                   lambda s, t, d, prune: ap_loss_reference(s, t, d, prune=prune), lambda t, g: t, 1.0),
    'rank_sort': Loss('Rank & Sort loss (ranking + sorting), float targets',
                      lambda s, t, d: sum(rank_sort_loss(s, t, d)),
                      lambda s, t, d, prune: sum(rank_sort_loss_reference(s, t, d, prune=prune)), with_quality, 0.5),
    'alrp': Loss('aLRP Loss (classification + localisation), int8 targets',
                 lambda s, t, d: sum(alrp_loss(s, t, box_errors(t), d)),
                 lambda s, t, d, prune: sum(alrp_loss_reference(s, t, box_errors(t), d, prune=prune)), lambda t, g: t,
                 1.0),
}


def parse_size(text):
    try:
        n, p = text.split(':')
        n, p = int(float(n)), int(float(p))
    except ValueError:
        raise argparse.ArgumentTypeError(f'a size is N:P (e.g. 2e6:1000), got {text!r}') from None
    if not 0 < p <= n:
        raise argparse.ArgumentTypeError(f'a size needs 0 < P <= N, got N={n}, P={p}')
    return n, p


def problem(n, p, distribution, dtype, device, loss='aploss', seed=0):
    generator = torch.Generator().manual_seed(seed)
    targets = torch.zeros(n, dtype=torch.int8)
    targets[torch.randperm(n, generator=generator)[:p]] = 1
    noise = torch.randn(n, generator=generator)
    if distribution == 'normal':
        scores = noise
    elif distribution == 'start':
        scores = -4.6 + 0.1 * noise
    else:
        scores = torch.where(targets == 1, 0.5 + 1.5 * noise, -7.0 + 2.0 * noise)
    return scores.to(dtype).to(device), LOSSES[loss].targets(targets, generator).to(device)


def sampled_targets(scores, targets, sample):
    """targets with all but ``sample`` positives ignored: the lowest positive and random others."""
    positives = torch.nonzero(targets > 0).squeeze(1)
    if sample >= positives.numel():
        return targets
    lowest = positives[scores[positives].argmin()]
    others = positives[positives != lowest]
    keep = others[torch.randperm(others.numel(), generator=torch.Generator().manual_seed(1))[:sample - 1]]
    sampled = targets.clone()
    sampled[positives] = -1
    kept = torch.cat([keep, lowest.reshape(1)])
    sampled[kept] = targets[kept]
    return sampled


def timer(device):
    """measure(*fns, repeat=R) -> the median time of each fn over R calls. With several fns the
    calls take turns (a, b, a, b, ...), so that all of them meet the same machine state: on a shared
    machine a ratio of two medians taken minutes apart drifts with whatever else runs."""
    def once(fn):
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        return time.perf_counter() - start

    def measure(*fns, repeat):
        for fn in fns:
            fn()  # warm-up: allocations, CUDA context, lazy init
        times = [[once(fn) for fn in fns] for _ in range(repeat)]
        medians = [statistics.median(column) for column in zip(*times)]
        return medians[0] if len(fns) == 1 else medians
    return measure


def forward_backward(fn, scores, targets, delta):
    leaf = scores.detach().requires_grad_()

    def run():
        return torch.autograd.grad(fn(leaf, targets, delta), leaf)[0]
    return run


def memory_floor(scores, targets):
    def run():
        for _ in range(2):
            scores.sum()
            targets.max()
        torch.empty_like(scores).fill_(0)
    return run


def benchmark(device, sizes, distributions, dtype, delta, repeat, loop_positives, loss='aploss'):
    op, reference = LOSSES[loss].op, LOSSES[loss].reference
    measure = timer(device)
    rows = []
    for n, p in sizes:
        for distribution in distributions:
            scores, targets = problem(n, p, distribution, dtype, device, loss)
            print(f'[{device}] {loss}, N={n:.3g}, P={p}, {distribution}: op and floor ...', end='', flush=True,
                  file=sys.stderr)
            op_time, floor_time = measure(forward_backward(op, scores, targets, delta),
                                          memory_floor(scores, targets), repeat=repeat)
            sample = min(p, loop_positives)
            loop_targets = sampled_targets(scores, targets, sample)
            loop_repeat = max(1, repeat // 5)
            print(f' official on {sample} positives ...', end='', flush=True, file=sys.stderr)
            official_time = measure(forward_backward(
                lambda s, t, d: reference(s, t, d, True), scores, loop_targets, delta), repeat=loop_repeat) * p / sample
            print(' loop ...', end='', flush=True, file=sys.stderr)
            loop_time = measure(forward_backward(
                lambda s, t, d: reference(s, t, d, False), scores, loop_targets, delta), repeat=loop_repeat) * p / sample
            print(' sort ...', end='', flush=True, file=sys.stderr)
            sort_time = measure(lambda: torch.sort(scores), repeat=repeat)
            print(' done', file=sys.stderr)
            rows.append(dict(loss=loss, device=str(device), n=n, p=p, scores=distribution, op=op_time,
                             official=official_time, loop=loop_time,
                             loop_note='' if sample == p else f' (on {sample}, scaled)',
                             sort=sort_time, floor=floor_time))
    return rows


def milliseconds(seconds):
    return f'{seconds * 1e3:.3g} ms' if seconds >= 1e-4 else f'{seconds * 1e6:.3g} us'


def print_table(rows, dtype_name, delta):
    print(f'\n{LOSSES[rows[0]["loss"]].title}: forward + backward, {dtype_name} scores, delta={delta}')
    print('| device | N | P | scores | op | official (pruned) | loop | torch.sort | memory floor | '
          'official / op | loop / op | op / floor |')
    print('|---|---|---|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        print(f"| {r['device']} | {r['n']:.3g} | {r['p']} | {r['scores']} | {milliseconds(r['op'])} | "
              f"{milliseconds(r['official'])}{r['loop_note']} | {milliseconds(r['loop'])}{r['loop_note']} | "
              f"{milliseconds(r['sort'])} | {milliseconds(r['floor'])} | {r['official'] / r['op']:.0f}x | "
              f"{r['loop'] / r['op']:.0f}x | {r['op'] / r['floor']:.1f}x |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sizes', nargs='+', type=parse_size, default=[parse_size(s) for s in DEFAULT_SIZES],
                        metavar='N:P', help=f'sizes to time (default: {" ".join(DEFAULT_SIZES)})')
    parser.add_argument('--scores', nargs='+', choices=DISTRIBUTIONS, default=DISTRIBUTIONS,
                        help='score distributions (default: all three)')
    parser.add_argument('--devices', nargs='+', choices=['cpu', 'cuda'], default=None,
                        help='default: cpu, and cuda when available')
    parser.add_argument('--dtype', choices=sorted(DTYPES), default='fp32')
    parser.add_argument('--losses', nargs='+', choices=sorted(LOSSES), default=sorted(LOSSES),
                        help='losses to time, one table each (default: all)')
    parser.add_argument('--delta', type=float, default=None,
                        help="default: each paper's (AP-Loss 1.0, Rank & Sort 0.5)")
    parser.add_argument('--repeat', type=int, default=5, help='timed runs per measurement (median)')
    parser.add_argument('--loop-positives', type=int, default=50,
                        help='time the loops on at most this many positives and scale')
    args = parser.parse_args(argv)
    devices = args.devices or (['cpu', 'cuda'] if torch.cuda.is_available() else ['cpu'])
    if 'cuda' in devices and not torch.cuda.is_available():
        parser.error('--devices cuda: no CUDA device is available')
    if 'cuda' in devices and not cuda_kernel_compiled():
        parser.error('--devices cuda: this build has no CUDA kernel (rebuild with nvcc, FORCE_CUDA=1)')
    if args.repeat < 1 or args.loop_positives < 1:
        parser.error('--repeat and --loop-positives must be >= 1')
    if args.delta is not None and not args.delta > 0:
        parser.error(f'--delta must be > 0, got {args.delta}')
    rows = []
    for loss in args.losses:
        delta = args.delta or LOSSES[loss].delta
        table = []
        for name in devices:
            table += benchmark(torch.device(name), args.sizes, args.scores, DTYPES[args.dtype], delta,
                               args.repeat, args.loop_positives, loss)
        print_table(table, args.dtype, delta)
        rows += table
    print(f'\ntorch {torch.__version__}, {torch.get_num_threads()} CPU threads'
          + (f', {torch.cuda.get_device_name()}' if 'cuda' in devices else ''))
    return rows


if __name__ == '__main__':
    main()
