"""Run by torchrun in tests/distributed/test_retinanet_ddp.py: a tiny RetinaNet with
APLossRetinaHead (or ATSS with RankSortATSSHead) under DistributedDataParallel (gloo, CPU); each
process trains on its own images of one minibatch and saves the parameter gradients after backward
to OUT/rank<r>.pt. The test builds the same model in one process on the whole minibatch
(``build_model``, ``minibatch``)."""
import sys

import torch
import torch.distributed as dist

IMAGES = 4
RANK_SORT_HEAD = dict(
    type='RankSortATSSHead', num_classes=3, in_channels=16, feat_channels=16, stacked_convs=1,
    norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
    anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=4, scales_per_octave=3,
                          strides=[8, 16, 32]),
    bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[0.1, 0.1, 0.2, 0.2]),
    loss_cls=dict(type='RankSortLoss', use_sigmoid=True), loss_bbox=dict(type='GIoULoss'))


def build_model(head='aploss'):
    from mmdet.registry import MODELS

    import mmdet_losses  # noqa: F401  (registers the modules)
    torch.manual_seed(0)
    cfg = dict(
        type='RetinaNet',
        # BN in eval mode: batch statistics would differ between a split and a whole minibatch.
        backbone=dict(type='ResNet', depth=18, base_channels=8, num_stages=4, out_indices=(1, 2, 3),
                      norm_cfg=dict(type='BN', requires_grad=True), norm_eval=True, style='pytorch'),
        neck=dict(type='FPN', in_channels=[16, 32, 64], out_channels=16, num_outs=3),
        bbox_head=dict(
            type='APLossRetinaHead', num_classes=3, in_channels=16, feat_channels=16, stacked_convs=1,
            anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=2,
                                  ratios=[0.5, 1.0, 2.0], strides=[8, 16, 32]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[1.0] * 4),
            loss_cls=dict(type='APLoss', use_sigmoid=True),
            loss_bbox=dict(type='SmoothL1Loss', beta=0.11, loss_weight=1.0)),
        train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                                     min_pos_iou=0, ignore_iof_thr=-1),
                       sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1, debug=False),
        test_cfg=dict(nms_pre=100, min_bbox_size=0, score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5),
                      max_per_img=10))
    if head == 'rank_sort':
        cfg.update(type='ATSS', bbox_head=RANK_SORT_HEAD,
                   train_cfg=dict(assigner=dict(type='ATSSAssigner', topk=9), allowed_border=-1, pos_weight=-1))
    return MODELS.build(cfg).train()


def minibatch(indices):
    """Images (len(indices), 3, 64, 64) and their data samples; image k has k + 1 boxes."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    images, samples = [], []
    for k in indices:
        generator = torch.Generator().manual_seed(k)
        images.append(torch.randn(3, 64, 64, generator=generator))
        corners = torch.rand(k + 1, 2, generator=generator) * 32
        sizes = 12 + torch.rand(k + 1, 2, generator=generator) * 20
        sample = DetDataSample(metainfo=dict(img_shape=(64, 64), pad_shape=(64, 64), scale_factor=(1.0, 1.0),
                                             batch_input_shape=(64, 64)))
        sample.gt_instances = InstanceData(bboxes=torch.cat([corners, corners + sizes], 1),
                                           labels=torch.arange(k + 1) % 3)
        samples.append(sample)
    return torch.stack(images), samples


def gradients(model, images, samples):
    losses = model(images, samples, mode='loss')
    total = sum(value if torch.is_tensor(value) else sum(value) for value in losses.values())
    total.backward()
    return {name: p.grad.detach().clone() for name, p in model.named_parameters() if p.grad is not None}


def main(out, head):
    dist.init_process_group('gloo')
    rank, world_size = dist.get_rank(), dist.get_world_size()
    model = torch.nn.parallel.DistributedDataParallel(build_model(head))
    share = IMAGES // world_size
    images, samples = minibatch(range(rank * share, (rank + 1) * share))
    grads = gradients(model, images, samples)
    torch.save({name.removeprefix('module.'): g for name, g in grads.items()}, f'{out}/rank{rank}.pt')
    dist.destroy_process_group()


if __name__ == '__main__':
    main(*sys.argv[1:3])
