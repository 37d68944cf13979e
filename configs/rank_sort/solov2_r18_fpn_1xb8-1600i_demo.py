# The baseline of rs_solov2_r18_fpn_1xb8-1600i_demo.py: mmdet's SOLOv2 (its model of
# mmdet::solov2/solov2_r50_fpn_1x_coco.py: focal loss on the grid cells' class scores, Dice loss x 3 on
# the positives' masks, matrix NMS) on the demo's small network: ResNet-18 at half width from scratch,
# with the data, optimizer and runtime of the Mask R-CNN demo (128 px, 8 images per iteration on one
# CPU process, SGD lr 0.01) and 1600 iterations (a step costs about half a Mask R-CNN one).
# Compared with RS-SOLOv2 by `make demo-rank-sort-solov2` (docs/rank_sort.md).
#
# Shrunk for a CPU and for 15-64 px objects, the same in both configs: an FPN of 4 levels with 64
# channels (mmdet: 5 of 256), which SOLOv2 resizes to strides 8, 8, 16, 16; grids of 16, 12, 8 and
# 6 cells for objects of 1-24, 16-40, 32-64 and 48-128 px (mmdet: 40, 36, 24, 16, 12 cells for 1-96
# up to 384-2048 px); 2 stacked convs of 128 channels in the kernel and class branches (mmdet: 4 of
# 512); a mask feature branch of 32 channels giving 64 mask channels at stride 4 (mmdet: 128 and 256).
_base_ = './mask-rcnn_r18_fpn_1xb8-800i_demo.py'

model = dict(
    _delete_=True,
    _scope_='mmdet',  # what the replaced model had from its mmdet:: base: its parts are mmdet's
    type='SOLOv2',
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           bgr_to_rgb=True, pad_mask=True, pad_size_divisor=32),
    backbone=dict(type='ResNet', depth=18, base_channels=32, num_stages=4, out_indices=(0, 1, 2, 3),
                  frozen_stages=-1, norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False, style='pytorch',
                  init_cfg=None),
    neck=dict(type='FPN', in_channels=[32, 64, 128, 256], out_channels=64, start_level=0, num_outs=4),
    mask_head=dict(
        type='SOLOV2Head', num_classes=4, in_channels=64, feat_channels=128, stacked_convs=2,
        strides=[8, 8, 16, 16], scale_ranges=((1, 24), (16, 40), (32, 64), (48, 128)), pos_scale=0.2,
        num_grids=[16, 12, 8, 6], cls_down_index=0,
        mask_feature_head=dict(feat_channels=32, start_level=0, end_level=3, out_channels=64, mask_stride=4,
                               norm_cfg=dict(type='GN', num_groups=16, requires_grad=True)),
        loss_mask=dict(type='DiceLoss', use_sigmoid=True, loss_weight=3.0),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0)),
    # mmdet's test settings but, as in the other demos, no score threshold: every mask competes by
    # rank up to max_per_img.
    test_cfg=dict(nms_pre=500, score_thr=0.0, mask_thr=0.5, filter_thr=0.0, kernel='gaussian', sigma=2.0,
                  max_per_img=20))

# SOLOv2 predicts masks only (its boxes are zeros): the mask metric alone.
val_evaluator = dict(metric='segm')
test_evaluator = val_evaluator

max_iters = 1600
train_cfg = dict(max_iters=max_iters, val_interval=max_iters // 4)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[max_iters * 3 // 4], gamma=0.1),
]
# SOLOv2's clipping (mmdet's config; the Mask R-CNN demo's: 10).
optim_wrapper = dict(clip_grad=dict(max_norm=35))
default_hooks = dict(checkpoint=dict(interval=max_iters // 4))
