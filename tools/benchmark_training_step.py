"""Times whole training steps of RetinaNet R50-FPN with AP-Loss against focal loss, on generated
images, in one run: the cost AP-Loss adds to training, as seconds per iteration and their ratio.

The detector is torchvision's RetinaNet (ResNet-50 FPN, random weights, nothing downloaded), so that
the tool runs wherever torch and torchvision do, a GPU machine without mmdet included. Focal loss is
torchvision's own classification loss (per image, as in RetinaNet); AP-Loss replaces it by
``mmdet_losses.functional.ap_loss`` over the whole minibatch: every (anchor, class) pair one entry,
matched anchors' own class positive, anchors between the IoU thresholds ignored, the rest negative.
The box loss, the optimizer (SGD, momentum 0.9) and everything else are the same for both.

    python tools/benchmark_training_step.py                          # 8 images of 512 x 512, 50 steps
    python tools/benchmark_training_step.py --batch 2 --size 800 --iters 20
"""
import argparse
import statistics
import time

import torch
from torchvision.models.detection import retinanet_resnet50_fpn

from mmdet_losses.functional import ap_loss


def ap_loss_classification(head):
    """Replaces the classification head's focal loss by one AP-Loss ranking of the minibatch."""
    def compute_loss(targets, head_outputs, matched_idxs):
        cls_logits = head_outputs['cls_logits']  # (images, anchors, classes)
        labels = torch.zeros(cls_logits.shape, dtype=torch.int8, device=cls_logits.device)
        for image, (target, matched) in enumerate(zip(targets, matched_idxs)):
            foreground = torch.nonzero(matched >= 0).squeeze(1)
            labels[image, foreground, target['labels'][matched[foreground]]] = 1
            labels[image, matched == head.BETWEEN_THRESHOLDS] = -1
        return ap_loss(cls_logits, labels)
    head.compute_loss = compute_loss


def generated_batch(batch, size, classes, device, seed):
    """Images of noise with 2 to 10 boxes each (sides 32 px to half the image) and random labels."""
    generator = torch.Generator().manual_seed(seed)
    images = [torch.rand(3, size, size, generator=generator).to(device) for _ in range(batch)]
    targets = []
    for _ in range(batch):
        boxes = int(torch.randint(2, 11, (1,), generator=generator))
        corner = torch.rand(boxes, 2, generator=generator) * size / 2
        side = 32 + torch.rand(boxes, 2, generator=generator) * (size / 2 - 32)
        targets.append(dict(boxes=torch.cat([corner, corner + side], 1).to(device),
                            labels=torch.randint(0, classes, (boxes,), generator=generator).to(device)))
    return images, targets


def seconds_per_step(loss, args, device):
    torch.manual_seed(0)
    model = retinanet_resnet50_fpn(weights=None, weights_backbone=None, num_classes=args.classes,
                                   min_size=args.size, max_size=args.size).to(device).train()
    if loss == 'aploss':
        ap_loss_classification(model.head.classification_head)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    images, targets = generated_batch(args.batch, args.size, args.classes, device, seed=0)
    times = []
    for step in range(args.warmup + args.iters):
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        losses = model(images, targets)
        total = sum(losses.values())
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        if not torch.isfinite(total):
            raise RuntimeError(f'{loss}: the loss is {total.item()} at step {step}')
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        if step >= args.warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times), statistics.mean(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--batch', type=int, default=8, help='images per step')
    parser.add_argument('--size', type=int, default=512, help='image side in pixels')
    parser.add_argument('--classes', type=int, default=80)
    parser.add_argument('--iters', type=int, default=50, help='timed steps per loss')
    parser.add_argument('--warmup', type=int, default=5, help='untimed steps first')
    args = parser.parse_args(argv)
    for name in ('batch', 'size', 'classes', 'iters'):
        if getattr(args, name) < 1:
            parser.error(f'--{name} must be >= 1, got {getattr(args, name)}')
    device = torch.device(args.device)
    rows = {}
    # focal, AP-Loss, then focal again: a drift of the machine over the run shows as a difference
    # between the two focal rows.
    for label, loss in (('focal', 'focal'), ('aploss', 'aploss'), ('focal (again)', 'focal')):
        rows[label] = seconds_per_step(loss, args, device)
        print(f'{label}: median {rows[label][0] * 1e3:.1f} ms/step, mean {rows[label][1] * 1e3:.1f}',
              flush=True)
    focal = min(rows['focal'][0], rows['focal (again)'][0])
    print(f'\nRetinaNet R50-FPN (torchvision), {args.batch} x {args.size}x{args.size}, {args.classes} '
          f'classes, {args.iters} steps after {args.warmup}, {device}'
          + (f' ({torch.cuda.get_device_name(device)})' if device.type == 'cuda' else '')
          + f', torch {torch.__version__}')
    print('| loss | median s/step | mean s/step |')
    print('|---|---|---|')
    for label, (median, mean) in rows.items():
        print(f'| {label} | {median:.4f} | {mean:.4f} |')
    print(f'AP-Loss / focal (median s/step, the faster focal run): {rows["aploss"][0] / focal:.3f}')
    return rows


if __name__ == '__main__':
    main()
