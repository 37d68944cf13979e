"""Why UniLoss does not train a detector: its gradient on detection-sized rankings, side by side
with AP-Loss's error-driven update on the same scores.

For one ranking the size of the embedded demo's minibatch (N (anchor, class) entries, P positives)
with scores drawn as in tools/benchmark_aploss.py (``start``, ``trained``) and one in between
(``mid``: positives N(-2, 1), negatives N(-5, 1.5)), and for each UniLoss setting (the sample caps,
the anchor count, a temperature dividing the scores before the relaxation), prints:

- per side (the positives, the negatives): the **norm** of UniLoss's gradient over that of AP-Loss's
  update, and the **cosine** between the two (UniLoss's gradient averaged over --calls calls, as its
  anchors and its sample of entries are random);
- **touched**: the share of the negatives that one call gives a non-zero gradient.

Both updates push the negatives down exactly as much as the positives up (their entries sum to 0);
what differs is where on the negatives the push lands.

    python tools/uniloss_diagnostics.py                 # the table of docs/classification_losses.md
"""
import argparse

import torch

from mmdet_losses.functional import ap_loss, uniloss

SETTINGS = {
    '64 positives, 256 negatives (the functional defaults)': dict(max_positives=64, max_negatives=256),
    '64 positives, 1024 negatives': dict(max_positives=64, max_negatives=1024),
    '32 positives, 2048 negatives (UniLoss module defaults)': dict(max_positives=32, max_negatives=2048),
    '16 positives, 64 negatives': dict(max_positives=16, max_negatives=64),
    '64 x 256, 64 anchors of each type': dict(max_positives=64, max_negatives=256, num_anchors=64),
    '64 x 256, temperature 4': dict(max_positives=64, max_negatives=256, temperature=4.0),
}


def problem(kind, n, p, seed=0):
    generator = torch.Generator().manual_seed(seed)
    targets = torch.zeros(n, dtype=torch.long)
    targets[torch.randperm(n, generator=generator)[:p]] = 1
    noise = torch.randn(n, generator=generator, dtype=torch.float64)
    if kind == 'start':
        scores = -4.6 + 0.1 * noise
    elif kind == 'mid':
        scores = torch.where(targets == 1, -2 + noise, -5 + 1.5 * noise)
    else:
        scores = torch.where(targets == 1, 0.5 + 1.5 * noise, -7 + 2 * noise)
    return scores, targets


def uniloss_value(scores, targets, setting, seed):
    setting = dict(setting)
    temperature = setting.pop('temperature', 1.0)
    return uniloss(scores / temperature, targets, 'detection_ap', generator=torch.Generator().manual_seed(seed),
                   **setting)


def measure(scores, targets, setting, calls):
    leaf = scores.clone().requires_grad_()
    ap_update, = torch.autograd.grad(ap_loss(leaf, targets), leaf)
    gradient = torch.zeros_like(scores)
    negatives = targets == 0
    touched = 0.0
    for seed in range(calls):
        leaf = scores.clone().requires_grad_()
        call, = torch.autograd.grad(uniloss_value(leaf, targets, setting, seed), leaf)
        gradient += call / calls
        touched += float((call[negatives] != 0).double().mean()) / calls
    row = dict(touched=touched)
    for side, entries in (('positives', ~negatives), ('negatives', negatives)):
        ours, theirs = gradient[entries], ap_update[entries]
        row[f'{side} norm'] = float(ours.norm() / theirs.norm())
        row[f'{side} cosine'] = float(torch.nn.functional.cosine_similarity(ours, theirs, dim=0))
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--entries', type=int, default=64512,
                        help='N: the demo minibatch, 8 images x 2016 anchors x 4 classes (default)')
    parser.add_argument('--positives', type=int, default=80, help='P (default: 80)')
    parser.add_argument('--calls', type=int, default=8, help='UniLoss calls averaged per figure (default: 8)')
    args = parser.parse_args(argv)
    if not 0 < args.positives < args.entries or args.calls < 1:
        parser.error('needs 0 < --positives < --entries and --calls >= 1')
    rows = []
    print(f'N = {args.entries}, P = {args.positives}, {args.calls} calls per figure')
    print('| scores | UniLoss setting | positives: norm, cosine | negatives: norm, cosine | negatives touched |')
    print('|---|---|---|---|---|')
    for kind in ('start', 'mid', 'trained'):
        scores, targets = problem(kind, args.entries, args.positives)
        for name, setting in SETTINGS.items():
            row = measure(scores, targets, setting, args.calls)
            rows.append(dict(scores=kind, setting=name, **row))
            print(f"| {kind} | {name} | {row['positives norm']:.3f}, {row['positives cosine']:.2f} | "
                  f"{row['negatives norm']:.3f}, {row['negatives cosine']:.2f} | {row['touched']:.4f} |", flush=True)
    return rows


if __name__ == '__main__':
    main()
