"""Run by torchrun in tests/distributed/test_detector_ddp.py: a tiny detector with ranking losses
in mmdet's stock heads (RetinaNet, Faster R-CNN with APLoss in the RPN and the RoI head, YOLOX),
RS-ATSS, RS-R-CNN, aLRP RetinaNet, aLRP Faster R-CNN, RS-DINO, RS-Deformable-DETR, RS-YOLACT or RS-SOLOv2, under
DistributedDataParallel (gloo, CPU): each process trains on its own images of one minibatch and
saves the parameter gradients after backward to OUT/rank<r>.pt. The test builds the same model in
one process on the whole minibatch (``build_model``, ``minibatch``).

For the gradients to be those of one process, everything but the ranking must not depend on how
the minibatch is split: BN is frozen, samplers are removed (PseudoSampler), every image has the
same box layout (mmdet's stock heads normalise their box losses by this process's positive
count) and the RPN gives every image as many proposals."""
import sys

import torch
import torch.distributed as dist

IMAGES = 4
SIZE = 64
BOXES = torch.tensor([[4.0, 6.0, 30.0, 34.0], [28.0, 20.0, 60.0, 58.0], [10.0, 36.0, 40.0, 62.0]])
BACKBONE = dict(type='ResNet', depth=18, base_channels=8, num_stages=4, out_indices=(1, 2, 3),
                # BN in eval mode: batch statistics would differ between a split and a whole minibatch.
                norm_cfg=dict(type='BN', requires_grad=True), norm_eval=True, style='pytorch')
NECK = dict(type='FPN', in_channels=[16, 32, 64], out_channels=16, num_outs=3)
MAX_IOU = dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0, ignore_iof_thr=-1)
ANCHORS = dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=2, ratios=[0.5, 1.0, 2.0],
               strides=[8, 16, 32])
CODER = dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[1.0] * 4)
AP_LOSS = dict(type='APLoss', use_sigmoid=True)

RETINANET = dict(
    type='RetinaNet', backbone=BACKBONE, neck=NECK,
    bbox_head=dict(type='RetinaHead', num_classes=3, in_channels=16, feat_channels=16, stacked_convs=1,
                   anchor_generator=ANCHORS, bbox_coder=CODER, loss_cls=AP_LOSS,
                   loss_bbox=dict(type='SmoothL1Loss', beta=0.11, loss_weight=1.0)),
    train_cfg=dict(assigner=MAX_IOU, sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1,
                   debug=False))

FASTER_RCNN = dict(
    type='FasterRCNN', backbone=BACKBONE, neck=NECK,
    rpn_head=dict(type='RPNHead', in_channels=16, feat_channels=16,
                  anchor_generator=dict(type='AnchorGenerator', scales=[4], ratios=[0.5, 1.0, 2.0],
                                        strides=[8, 16, 32]),
                  bbox_coder=CODER, loss_cls=AP_LOSS, loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(type='SingleRoIExtractor', out_channels=16, featmap_strides=[8, 16, 32],
                                roi_layer=dict(type='RoIAlign', output_size=4, sampling_ratio=0)),
        bbox_head=dict(type='Shared2FCBBoxHead', in_channels=16, fc_out_channels=32, roi_feat_size=4,
                       num_classes=3, bbox_coder=dict(CODER, target_stds=[0.1, 0.1, 0.2, 0.2]),
                       reg_class_agnostic=False, loss_cls=AP_LOSS, loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
    train_cfg=dict(
        rpn=dict(assigner=dict(MAX_IOU, neg_iou_thr=0.3, pos_iou_thr=0.7, min_pos_iou=0.3),
                 sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1, debug=False),
        # No suppression and a fixed count: every image gets 40 proposals, so the RoI head's box
        # loss (normalised by this process's RoI count) does not depend on the split.
        rpn_proposal=dict(nms_pre=200, max_per_img=40, nms=dict(type='nms', iou_threshold=1.0), min_bbox_size=0),
        rcnn=dict(assigner=dict(MAX_IOU, neg_iou_thr=0.5, pos_iou_thr=0.5, min_pos_iou=0.5),
                  sampler=dict(type='PseudoSampler'), pos_weight=-1, debug=False)),
    test_cfg=dict(rpn=dict(nms_pre=200, max_per_img=40, nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0),
                  rcnn=dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5), max_per_img=20)))

RANK_SORT_ATSS = dict(
    type='ATSS', backbone=BACKBONE, neck=NECK,
    bbox_head=dict(type='ValueBalancedATSSHead', num_classes=3, in_channels=16, feat_channels=16, stacked_convs=1,
                   norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
                   anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=4,
                                         scales_per_octave=3, strides=[8, 16, 32]),
                   bbox_coder=dict(CODER, target_stds=[0.1, 0.1, 0.2, 0.2]),
                   loss_cls=dict(type='RankSortLoss', use_sigmoid=True), loss_bbox=dict(type='GIoULoss')),
    train_cfg=dict(assigner=dict(type='ATSSAssigner', topk=9), allowed_border=-1, pos_weight=-1))

YOLOX = dict(
    type='YOLOX', backbone=BACKBONE, neck=NECK,
    # GroupNorm in the head: per image, like frozen BN.
    bbox_head=dict(type='YOLOXHead', num_classes=3, in_channels=16, feat_channels=16, stacked_convs=1,
                   strides=(8, 16, 32), norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
                   loss_cls=AP_LOSS),
    train_cfg=dict(assigner=dict(type='SimOTAAssigner', center_radius=2.5)))

# RS-R-CNN: its RPN and RoI heads normalise and balance their box losses over the processes, and
# its RoI sampler keeps every proposal and adds the ground truths, as the authors' config does.
RS_RCNN = dict(
    FASTER_RCNN,
    rpn_head=dict(FASTER_RCNN['rpn_head'], type='ValueBalancedRPNHead', head_weight=0.2,
                  bbox_coder=dict(CODER, target_stds=[0.1, 0.1, 0.2, 0.2]),
                  loss_cls=dict(type='RankSortLoss', use_sigmoid=True), loss_bbox=dict(type='GIoULoss')),
    roi_head=dict(FASTER_RCNN['roi_head'], bbox_head=dict(
        FASTER_RCNN['roi_head']['bbox_head'], type='ValueBalancedBBoxHead',
        loss_cls=dict(type='RankSortLoss', use_sigmoid=True), loss_bbox=dict(type='GIoULoss'))),
    train_cfg=dict(FASTER_RCNN['train_cfg'], rcnn=dict(
        FASTER_RCNN['train_cfg']['rcnn'],
        sampler=dict(type='RandomSampler', num=int(1e10), pos_fraction=0.25, add_gt_as_proposals=True))))

# aLRP RetinaNet: one ranking of both branches across the processes, the localisation part a mean
# over every process's positives; one process has no object.
ALRP_RETINANET = dict(
    RETINANET,
    bbox_head=dict(RETINANET['bbox_head'], type='ALRPRetinaHead', bbox_coder=dict(CODER, target_stds=[0.1, 0.1, 0.2, 0.2]),
                   loss_cls=dict(type='ALRPLoss', use_sigmoid=True), loss_bbox=dict(type='GIoULoss')))

# aLRP Faster R-CNN: two rankings across the processes (the RPN's and the RoI head's), each with
# its own self-balance weight; one process has no object.
ALRP_FASTER_RCNN = dict(
    FASTER_RCNN,
    rpn_head=dict(FASTER_RCNN['rpn_head'], type='ALRPRPNHead', bbox_coder=dict(CODER, target_stds=[0.1, 0.1, 0.2, 0.2]),
                  loss_cls=dict(type='ALRPLoss', use_sigmoid=True), loss_bbox=dict(type='GIoULoss')),
    roi_head=dict(FASTER_RCNN['roi_head'], bbox_head=dict(
        FASTER_RCNN['roi_head']['bbox_head'], type='ALRPBBoxHead',
        loss_cls=dict(type='ALRPLoss', use_sigmoid=True), loss_bbox=dict(type='GIoULoss'))))

# RS-DINO: every prediction set (2 decoder layers, the encoder's proposals, the denoising queries)
# one Rank & Sort ranking across the processes. The denoising noise is fixed in effect (scales of
# 1e-9: mmdet refuses 0; no label flips, boxes moved by about 1e-9) and every image has the same
# objects, so each process makes the denoising queries one process would. One denoising group:
# several would be copies of each other, whose equal IoUs float rounding would order differently
# in 2 processes and in 1 (the sorting loss orders positives by IoU).
RS_DINO = dict(
    type='DINO', num_queries=30, with_box_refine=True, as_two_stage=True, num_feature_levels=3,
    backbone=BACKBONE,
    neck=dict(type='ChannelMapper', in_channels=[16, 32, 64], kernel_size=1, out_channels=256, act_cfg=None,
              norm_cfg=dict(type='GN', num_groups=32), num_outs=3),
    encoder=dict(num_layers=1, layer_cfg=dict(self_attn_cfg=dict(embed_dims=256, num_levels=3, dropout=0.0),
                                              ffn_cfg=dict(embed_dims=256, feedforward_channels=64, ffn_drop=0.0))),
    decoder=dict(num_layers=2, return_intermediate=True, post_norm_cfg=None, layer_cfg=dict(
        self_attn_cfg=dict(embed_dims=256, num_heads=8, dropout=0.0),
        cross_attn_cfg=dict(embed_dims=256, num_levels=3, dropout=0.0),
        ffn_cfg=dict(embed_dims=256, feedforward_channels=64, ffn_drop=0.0))),
    positional_encoding=dict(num_feats=128, normalize=True, offset=0.0, temperature=20),
    bbox_head=dict(type='ValueBalancedDINOHead', num_classes=3, sync_cls_avg_factor=True,
                   loss_cls=dict(type='RankSortLoss', use_sigmoid=True),
                   loss_bbox=dict(type='L1Loss', loss_weight=5.0), loss_iou=dict(type='GIoULoss', loss_weight=2.0)),
    dn_cfg=dict(label_noise_scale=1e-9, box_noise_scale=1e-9,
                group_cfg=dict(dynamic=False, num_groups=1)),
    train_cfg=dict(assigner=dict(type='HungarianAssigner', match_costs=[
        dict(type='FocalLossCost', weight=2.0), dict(type='BBoxL1Cost', weight=5.0, box_format='xywh'),
        dict(type='IoUCost', iou_mode='giou', weight=2.0)])),
    test_cfg=dict(max_per_img=20))

# RS-Deformable-DETR (mmdet's plain Deformable DETR: no box refinement, one stage, no denoising):
# every decoder layer one Rank & Sort ranking of its matched queries across the processes.
RS_DEFORMABLE_DETR = dict(
    type='DeformableDETR', num_queries=30, num_feature_levels=3, with_box_refine=False, as_two_stage=False,
    backbone=BACKBONE,
    neck=dict(type='ChannelMapper', in_channels=[16, 32, 64], kernel_size=1, out_channels=64, act_cfg=None,
              norm_cfg=dict(type='GN', num_groups=8), num_outs=3),
    encoder=dict(num_layers=1, layer_cfg=dict(
        self_attn_cfg=dict(embed_dims=64, num_levels=3, dropout=0.0, batch_first=True),
        ffn_cfg=dict(embed_dims=64, feedforward_channels=64, ffn_drop=0.0))),
    decoder=dict(num_layers=2, return_intermediate=True, post_norm_cfg=None, layer_cfg=dict(
        self_attn_cfg=dict(embed_dims=64, num_heads=8, dropout=0.0, batch_first=True),
        cross_attn_cfg=dict(embed_dims=64, num_levels=3, dropout=0.0, batch_first=True),
        ffn_cfg=dict(embed_dims=64, feedforward_channels=64, ffn_drop=0.0))),
    positional_encoding=dict(num_feats=32, normalize=True, offset=-0.5),
    bbox_head=dict(type='ValueBalancedDeformableDETRHead', num_classes=3, embed_dims=64, sync_cls_avg_factor=True,
                   loss_cls=dict(type='RankSortLoss', use_sigmoid=True),
                   loss_bbox=dict(type='L1Loss', loss_weight=5.0), loss_iou=dict(type='GIoULoss', loss_weight=2.0)),
    train_cfg=RS_DINO['train_cfg'],
    test_cfg=dict(max_per_img=20))

# RS-YOLACT: one Rank & Sort ranking of every anchor across the processes; the box and the mask
# losses (each positive's 1 - Dice) balanced by the value of the step's classification loss, summed
# over the processes. One process has no object.
RS_YOLACT = dict(
    type='YOLACT', backbone=BACKBONE, neck=NECK,
    bbox_head=dict(type='ValueBalancedYOLACTHead', num_classes=3, in_channels=16, feat_channels=16, num_protos=4,
                   anchor_generator=dict(ANCHORS, scales_per_octave=1),
                   bbox_coder=dict(CODER, target_stds=[0.1, 0.1, 0.2, 0.2]),
                   loss_cls=dict(type='RankSortLoss', use_sigmoid=True), loss_bbox=dict(type='GIoULoss')),
    mask_head=dict(type='ValueBalancedYOLACTProtonet', num_classes=3, in_channels=16, num_protos=4,
                   proto_channels=(16, None, 4), proto_kernel_sizes=(3, -2, 1), with_seg_branch=False),
    train_cfg=dict(assigner=dict(MAX_IOU, gt_max_assign_all=False), sampler=dict(type='PseudoSampler'),
                   allowed_border=-1, pos_weight=-1, debug=False))

# RS-SOLOv2: one Rank & Sort ranking of every (grid cell, class) across the processes, each positive
# sorted by its mask's Dice; the Dice loss balanced by value over the processes (GroupNorm in the
# head: per image). Two objects share each level; one process has no object.
RS_SOLOV2 = dict(
    type='SOLOv2', backbone=BACKBONE, neck=NECK,
    mask_head=dict(type='ValueBalancedSOLOV2Head', num_classes=3, in_channels=16, feat_channels=16, stacked_convs=1,
                   strides=[16, 16, 16], scale_ranges=((1, 32), (16, 48), (32, 128)), num_grids=[8, 6, 4],
                   cls_down_index=0, norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
                   mask_feature_head=dict(feat_channels=8, start_level=0, end_level=2, out_channels=8, mask_stride=8,
                                          norm_cfg=dict(type='GN', num_groups=4, requires_grad=True)),
                   loss_cls=dict(type='RankSortLoss', use_sigmoid=True),
                   loss_mask=dict(type='DiceLoss', use_sigmoid=True)))

DETECTORS = dict(retinanet=RETINANET, faster_rcnn=FASTER_RCNN, rank_sort_atss=RANK_SORT_ATSS, yolox=YOLOX,
                 rs_rcnn=RS_RCNN, alrp_retinanet=ALRP_RETINANET, alrp_faster_rcnn=ALRP_FASTER_RCNN, rs_dino=RS_DINO,
                 rs_deformable_detr=RS_DEFORMABLE_DETR, rs_yolact=RS_YOLACT, rs_solov2=RS_SOLOV2)
WITHOUT_OBJECTS_ON_ONE_PROCESS = ('yolox', 'alrp_retinanet', 'alrp_faster_rcnn', 'rs_yolact', 'rs_solov2')
WITH_MASKS = ('rs_yolact', 'rs_solov2')


def build_model(detector):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import ConfigDict

    import mmdet_losses  # noqa: F401  (registers the modules)
    register_all_modules()
    torch.manual_seed(0)
    model = MODELS.build(ConfigDict(DETECTORS[detector]))
    # Some parameters (DINO's level embeddings) are allocated empty and set by init_weights only.
    model.init_weights()
    return model.train()


def minibatch(indices, detector):
    """Images (len(indices), 3, SIZE, SIZE) and their data samples: every image has the boxes
    BOXES with labels of its own (for the instance segmenters, each with the ellipse inscribed in it
    as its mask). For YOLOX, aLRP, RS-YOLACT and RS-SOLOv2 the images from the middle of the minibatch
    on have no object, so that one process has no positive (YOLOX's then calls no loss_cls) and
    still takes part in the step's ranking and balance."""
    import numpy as np
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    images, samples = [], []
    for k in indices:
        generator = torch.Generator().manual_seed(k)
        images.append(torch.randn(3, SIZE, SIZE, generator=generator))
        sample = DetDataSample(metainfo=dict(img_shape=(SIZE, SIZE), pad_shape=(SIZE, SIZE), scale_factor=(1.0, 1.0),
                                             batch_input_shape=(SIZE, SIZE)))
        boxes = BOXES[:0] if detector in WITHOUT_OBJECTS_ON_ONE_PROCESS and k >= IMAGES // 2 else BOXES
        sample.gt_instances = InstanceData(bboxes=boxes.clone(), labels=(torch.arange(len(boxes)) + k) % 3)
        if detector in WITH_MASKS:
            rows, cols = np.mgrid[0:SIZE, 0:SIZE] + 0.5
            masks = [(2 * cols - x1 - x2) ** 2 / (x2 - x1) ** 2 + (2 * rows - y1 - y2) ** 2 / (y2 - y1) ** 2 <= 1
                     for x1, y1, x2, y2 in boxes.tolist()]
            sample.gt_instances.masks = BitmapMasks(np.array(masks, dtype=np.uint8).reshape(-1, SIZE, SIZE), SIZE, SIZE)
        samples.append(sample)
    return torch.stack(images), samples


def gradients(model, images, samples):
    losses = model(images, samples, mode='loss')
    total = sum(value if torch.is_tensor(value) else sum(value) for key, value in losses.items() if 'loss' in key)
    total.backward()
    return {name: p.grad.detach().clone() for name, p in model.named_parameters() if p.grad is not None}


def main(out, detector):
    dist.init_process_group('gloo')
    rank, world_size = dist.get_rank(), dist.get_world_size()
    model = torch.nn.parallel.DistributedDataParallel(build_model(detector))
    share = IMAGES // world_size
    images, samples = minibatch(range(rank * share, (rank + 1) * share), detector)
    grads = gradients(model, images, samples)
    torch.save({name.removeprefix('module.'): g for name, g in grads.items()}, f'{out}/rank{rank}.pt')
    dist.destroy_process_group()


if __name__ == '__main__':
    main(*sys.argv[1:3])
