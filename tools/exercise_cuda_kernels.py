"""Runs every variant of the ranking op's CUDA kernels on small inputs and compares each result
with the CPU kernel: the program that ``tools/check_cuda.sh`` runs under compute-sanitizer
(memcheck, racecheck, synccheck).

The passes keep the positives' grid and their slots or prefixes in one block's shared memory when
they fit and the block has at least as many entries as it copies words, and work in global memory
otherwise: the cases cover both, with positive counts on either side of the shared-memory limits
(found from the device) on inputs large enough for shared memory, and few positives on small
inputs. Every dtype pair, clustered and tied scores, a non-contiguous layout, empty inputs and the
error paths run too. ``--quick`` keeps the small inputs only (racecheck and synccheck are slow).

    python tools/exercise_cuda_kernels.py
    compute-sanitizer --tool racecheck python tools/exercise_cuda_kernels.py --quick
"""
import argparse
import sys

import torch

from mmdet_losses.ops import cuda_kernel_compiled, false_positive_sums, negative_weight_sums

ap_rank = torch.ops.mmdet_losses.ap_rank
WORD = 8  # the kernels' shared memory holds float64 and int64 words
LARGE = 20_000_000  # entries: enough for every block of a full device to take the shared variant


def shared_limit(device):
    """The positive count m above which the passes leave shared memory (with a window of 1): each
    holds m + 1 scores, (4m + 3) // 2 words of int32 cell starts, and m + 1 words of int counts
    plus m + 1 totals (pass 1) or 2 (m + 1) prefixes (pass 2)."""
    words = torch.cuda.get_device_properties(device).shared_memory_per_block_optin // WORD
    return (words - 4) // 5


def problem(n, m, kind, seed):
    generator = torch.Generator().manual_seed(seed)
    scores = torch.randn(n, generator=generator, dtype=torch.float64)
    if kind == 'clustered':
        scores = -4.6 + 0.01 * scores
    elif kind == 'ties':
        scores = (scores * 4).round() / 4
    targets = torch.zeros(n, dtype=torch.int64)
    order = torch.randperm(n, generator=generator)
    targets[order[:m]] = 1
    targets[order[m:m + n // 50]] = -1
    return scores, targets


def compare(name, gpu, cpu, failures):
    gpu = gpu.cpu().double()
    cpu = cpu.double()
    scale = max(cpu.abs().max().item(), 1e-30) if cpu.numel() else 1.0
    error = (gpu - cpu).abs().max().item() / scale if cpu.numel() else 0.0
    if not error <= 1e-5 or gpu.shape != cpu.shape:
        failures.append(f'{name}: relative error {error:.3g}, shapes {tuple(gpu.shape)} {tuple(cpu.shape)}')


def check_case(name, scores, targets, failures, delta=1.0):
    print(name, flush=True)  # a crash shows its case
    cuda_scores, cuda_targets = scores.cuda(), targets.cuda()
    for interpolated in (True, False):
        cpu_loss, cpu_grad = ap_rank(scores, targets, delta, interpolated)
        gpu_loss, gpu_grad = ap_rank(cuda_scores, cuda_targets, delta, interpolated)
        compare(f'{name} ap_rank loss interpolated={interpolated}', gpu_loss, cpu_loss, failures)
        compare(f'{name} ap_rank grad interpolated={interpolated}', gpu_grad, cpu_grad, failures)
    flat = scores.reshape(-1).double()
    p = torch.sort(flat[targets.reshape(-1) == 1]).values
    w = torch.rand(p.numel(), dtype=torch.float64, generator=torch.Generator().manual_seed(p.numel()))
    compare(f'{name} false_positive_sums', false_positive_sums(cuda_scores, cuda_targets, p.cuda(), delta),
            false_positive_sums(scores, targets, p, delta), failures)
    compare(f'{name} negative_weight_sums',
            negative_weight_sums(cuda_scores, cuda_targets, p.cuda(), w.cuda(), delta),
            negative_weight_sums(scores, targets, p, w, delta), failures)


def expect_error(name, message, fn, failures):
    try:
        fn()
    except (RuntimeError, ValueError) as error:
        if message not in str(error):
            failures.append(f'{name}: raised {error!r}, expected {message!r}')
        return
    failures.append(f'{name}: raised nothing, expected {message!r}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='only the small inputs (for racecheck and synccheck)')
    args = parser.parse_args(argv)
    if not torch.cuda.is_available() or not cuda_kernel_compiled():
        sys.exit('exercise_cuda_kernels: needs a CUDA device and a build with the CUDA kernel')
    device = torch.device('cuda')
    limit = shared_limit(device)
    small = [(50_000, m) for m in (1, 3, 30, 3000)]
    large = [(LARGE, m) for m in (limit - 12, limit + 2)]
    failures = []
    cases = 0
    for n, m in small + ([] if args.quick else large):
        for kind in ('normal', 'clustered', 'ties'):
            scores, targets = problem(n, m, kind, seed=m)
            check_case(f'n={n} m={m} {kind}', scores.float(), targets.to(torch.int8), failures)
            cases += 1
    if not args.quick:
        scores, targets = problem(5000, 200, 'normal', seed=1)
        for dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
            for target_dtype in (torch.int8, torch.int16, torch.int32, torch.int64):
                check_case(f'{dtype} {target_dtype}', scores.to(dtype), targets.to(target_dtype), failures)
                cases += 1
        for delta in (0.25, 3.0):
            check_case(f'delta={delta}', scores.float(), targets, failures, delta)
        check_case('non-contiguous', scores.float().view(50, 100).t(), targets.view(50, 100).t(), failures)
        check_case('no positive', scores.float(), torch.zeros_like(targets), failures)
        check_case('one entry', scores[:1].float(), torch.ones(1, dtype=torch.int64), failures)
        check_case('empty', scores[:0].float(), targets[:0], failures)
        cases += 6
        bad = targets.clone()
        bad[4321] = 2
        expect_error('bad target', 'flat index 4321',
                     lambda: ap_rank(scores.float().cuda(), bad.cuda(), 1.0, True), failures)
        nan = scores.float().clone()
        nan[1234] = float('nan')
        expect_error('NaN score', 'flat index 1234',
                     lambda: ap_rank(nan.cuda(), targets.cuda(), 1.0, True), failures)
        cases += 2
    torch.cuda.synchronize()
    print(f'exercise_cuda_kernels: {cases} cases (shared memory up to m = {limit} with a window of 1), '
          f'{len(failures)} failures')
    for failure in failures:
        print('  FAIL', failure)
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
