# The baseline of rs_mask-rcnn_r18_fpn_1xb8-800i_demo.py: mmdet's Mask R-CNN (RPNHead with cross-entropy
# and L1, Shared2FCBBoxHead with softmax cross-entropy and L1, FCNMaskHead with per-pixel cross-entropy,
# random samplers) on the demo's small detector: ResNet-18 at half width from scratch, 3 FPN levels of
# 64 channels (strides 8, 16, 32), 128 px images, 8 images per iteration on one CPU process
# (../demo/retinanet_r18_fpn_aploss_1xb8-1100i_demo.py), with the demo's instance masks.
# Compared with RS-Mask R-CNN by `make demo-rank-sort-mask`, in 800 iterations (hence 1xb8-800i): both
# train and are evaluated in about 8.5 minutes on 2 cores (docs/rank_sort.md).
#
# Shrunk for a CPU, the same in both configs: anchors of 16, 32 and 64 px (scale 2 at strides 8, 16,
# 32: the demo's objects are 15 to 64 px); 100 proposals per training and per test image
# (mmdet: 1000 and 1000); a box head of 256-wide fc layers (mmdet: 1024); a mask head of 2 convs of
# 64 channels (mmdet: 4 of 256).
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

data_root = 'data/demo/'
classes = ('ellipse', 'rectangle', 'triangle', 'cross')
image_size = (128, 128)
strides = [8, 16, 32]

model = dict(
    backbone=dict(depth=18, base_channels=32, init_cfg=None, frozen_stages=-1, norm_eval=False),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64, start_level=1, num_outs=3),
    rpn_head=dict(in_channels=64, feat_channels=64,
                  anchor_generator=dict(scales=[2], ratios=[0.5, 1.0, 2.0], strides=strides)),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64, featmap_strides=strides),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=len(classes)),
        mask_roi_extractor=dict(out_channels=64, featmap_strides=strides),
        mask_head=dict(num_convs=2, in_channels=64, conv_out_channels=64, num_classes=len(classes))),
    train_cfg=dict(rpn_proposal=dict(nms_pre=300, max_per_img=100)),
    # As in the other demos, every box competes by rank up to max_per_img: no score threshold (RS's
    # scores rank, they are not calibrated; the R50 configs keep their authors' thresholds).
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100), rcnn=dict(score_thr=0.0, max_per_img=20)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root, metainfo=dict(classes=classes),
                 ann_file='annotations/instances_train.json',
                 data_prefix=dict(img='VOCdemo/JPEGImages/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=dict(classes=classes),
                 ann_file='annotations/instances_val.json',
                 data_prefix=dict(img='VOCdemo/JPEGImages/'), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json', metric=['bbox', 'segm'])
test_evaluator = val_evaluator

max_iters = 800
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters // 4)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# lr 0.01 for both, the demo ATSS pair's best (docs/rank_sort.md); not swept for these heads.
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
                     clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[max_iters * 3 // 4], gamma=0.1),
]
default_hooks = dict(logger=dict(interval=10, log_metric_by_epoch=False),
                     checkpoint=dict(by_epoch=False, interval=max_iters // 4, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=8)
randomness = dict(seed=0)
