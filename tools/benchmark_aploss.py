"""Times the AP-Loss ranking op against the per-positive loop of the published implementations and
against one torch.sort of the same scores, on CPU and (when present) CUDA.

Each size is N entries (scores ~ N(0, 1), fp32 by default) of which P are positives; the rest are
negatives. The op and the loop both produce the loss and the error-driven gradient. The loop costs
the same for every positive, so for large sizes it is timed on a sample of the positives (the other
positives turned into negatives, keeping N) and scaled by P / sample; the table says so. Times are
medians of --repeat runs, the op, loop and sort measured in turn in one run, so the ratios hold
even on a busy machine.

On CUDA the table also gives the op's time over the memory floor: two reads of scores and targets
plus one write of the gradient, at the device-to-device copy bandwidth measured in the same run.

    python tools/benchmark_aploss.py                        # the sizes of docs/benchmarks.md
    python tools/benchmark_aploss.py --sizes 2e5:200 2e6:1000 --devices cpu
"""
import argparse
import statistics
import sys
import time

import torch

from mmdet_losses.functional import ap_loss_reference
from mmdet_losses.ops import cuda_kernel_compiled

DEFAULT_SIZES = ['1e5:100', '2e6:1000', '2.1e7:1600']
DTYPES = {'fp16': torch.float16, 'bf16': torch.bfloat16, 'fp32': torch.float32, 'fp64': torch.float64}


def parse_size(text):
    try:
        n, p = text.split(':')
        n, p = int(float(n)), int(float(p))
    except ValueError:
        raise argparse.ArgumentTypeError(f'a size is N:P (e.g. 2e6:1000), got {text!r}') from None
    if not 0 < p <= n:
        raise argparse.ArgumentTypeError(f'a size needs 0 < P <= N, got N={n}, P={p}')
    return n, p


def problem(n, p, dtype, device, seed=0):
    generator = torch.Generator().manual_seed(seed)
    scores = torch.randn(n, generator=generator).to(dtype)
    targets = torch.zeros(n, dtype=torch.int8)
    targets[torch.randperm(n, generator=generator)[:p]] = 1
    return scores.to(device), targets.to(device)


def timer(device):
    def measure(fn, repeat):
        fn()  # warm-up: allocations, CUDA context, lazy init
        times = []
        for _ in range(repeat):
            if device.type == 'cuda':
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            fn()
            if device.type == 'cuda':
                torch.cuda.synchronize(device)
            times.append(time.perf_counter() - start)
        return statistics.median(times)
    return measure


def copy_bandwidth(device, measure, nbytes=1 << 30):
    """Bytes per second of a device-to-device copy (read + write counted)."""
    src = torch.empty(nbytes // 4, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)
    seconds = measure(lambda: dst.copy_(src), 10)
    return 2 * nbytes / seconds


def benchmark(device, sizes, dtype, delta, repeat, loop_positives):
    measure = timer(device)
    bandwidth = copy_bandwidth(device, measure) if device.type == 'cuda' else None
    rows = []
    for n, p in sizes:
        print(f'[{device}] N={n:.3g}, P={p}: op ...', end='', flush=True, file=sys.stderr)
        scores, targets = problem(n, p, dtype, device)
        op_time = measure(lambda: torch.ops.mmdet_losses.ap_rank(scores, targets, delta, True), repeat)
        sampled = min(p, loop_positives)
        loop_targets = targets.clone()
        if sampled < p:
            positives = torch.nonzero(targets == 1).squeeze(1)
            loop_targets[positives[sampled:]] = 0
        print(f' loop on {sampled} positives ...', end='', flush=True, file=sys.stderr)
        loop_time = measure(lambda: ap_loss_reference(scores, loop_targets, delta, True),
                            max(1, repeat // 5)) * p / sampled
        print(' sort ...', end='', flush=True, file=sys.stderr)
        sort_time = measure(lambda: torch.sort(scores), repeat)
        print(' done', file=sys.stderr)
        row = dict(device=str(device), n=n, p=p, op=op_time, loop=loop_time,
                   loop_note='' if sampled == p else f' (timed on {sampled}, scaled)',
                   sort=sort_time, floor=None)
        if bandwidth is not None:
            moved = 2 * (scores.nbytes + targets.nbytes) + scores.nbytes
            row['floor'] = moved / bandwidth
        rows.append(row)
    return rows, bandwidth


def milliseconds(seconds):
    return f'{seconds * 1e3:.3g} ms' if seconds >= 1e-4 else f'{seconds * 1e6:.3g} us'


def print_table(rows, dtype_name, delta):
    print(f'\nAP-Loss ranking op, {dtype_name} scores, int8 targets, delta={delta}, interpolated')
    print('| device | N | P | op | reference loop | torch.sort | loop / op | sort / op | op / memory floor |')
    print('|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        floor = f"{r['op'] / r['floor']:.2f}x ({milliseconds(r['floor'])})" if r['floor'] else '-'
        print(f"| {r['device']} | {r['n']:.3g} | {r['p']} | {milliseconds(r['op'])} | "
              f"{milliseconds(r['loop'])}{r['loop_note']} | {milliseconds(r['sort'])} | "
              f"{r['loop'] / r['op']:.0f}x | {r['sort'] / r['op']:.2f}x | {floor} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sizes', nargs='+', type=parse_size, default=[parse_size(s) for s in DEFAULT_SIZES],
                        metavar='N:P', help=f'sizes to time (default: {" ".join(DEFAULT_SIZES)})')
    parser.add_argument('--devices', nargs='+', choices=['cpu', 'cuda'], default=None,
                        help='default: cpu, and cuda when available')
    parser.add_argument('--dtype', choices=sorted(DTYPES), default='fp32')
    parser.add_argument('--delta', type=float, default=1.0)
    parser.add_argument('--repeat', type=int, default=5, help='timed runs per measurement (median)')
    parser.add_argument('--loop-positives', type=int, default=50,
                        help='time the reference loop on at most this many positives and scale')
    args = parser.parse_args(argv)
    devices = args.devices or (['cpu', 'cuda'] if torch.cuda.is_available() else ['cpu'])
    if 'cuda' in devices and not torch.cuda.is_available():
        parser.error('--devices cuda: no CUDA device is available')
    if 'cuda' in devices and not cuda_kernel_compiled():
        parser.error('--devices cuda: this build has no CUDA kernel (rebuild with nvcc, FORCE_CUDA=1)')
    if args.repeat < 1 or args.loop_positives < 1:
        parser.error('--repeat and --loop-positives must be >= 1')
    rows = []
    for name in devices:
        device_rows, bandwidth = benchmark(torch.device(name), args.sizes, DTYPES[args.dtype], args.delta,
                                           args.repeat, args.loop_positives)
        rows += device_rows
        if bandwidth is not None:
            print(f'[{name}] {torch.cuda.get_device_name()}: copy bandwidth {bandwidth / 1e9:.0f} GB/s',
                  file=sys.stderr)
    print_table(rows, args.dtype, args.delta)
    print(f'\ntorch {torch.__version__}, {torch.get_num_threads()} CPU threads'
          + (f', {torch.cuda.get_device_name()}' if 'cuda' in devices else ''))
    return rows


if __name__ == '__main__':
    main()
