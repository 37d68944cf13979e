# A small RetinaNet (ResNet-18 at half width from scratch, 3 FPN levels, 128 px images) trained with
# AP-Loss over the whole minibatch on the embedded demo data (tools/make_demo_data.py). Sized for a
# CPU: half width (base_channels 32) trains 2.3x faster per iteration than full width, and on this
# data 1100 such iterations reach a higher AP than 400 at full width in about the same time.
# One CPU process, 8 images per iteration, 1100 iterations (hence 1xb8-1100i).
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

data_root = 'data/demo/'
classes = ('ellipse', 'rectangle', 'triangle', 'cross')
image_size = (128, 128)

model = dict(
    data_preprocessor=dict(pad_size_divisor=32),
    backbone=dict(depth=18, base_channels=32, init_cfg=None, frozen_stages=-1, norm_eval=False),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64, start_level=1, num_outs=3),
    bbox_head=dict(
        type='RetinaHead', num_classes=len(classes), in_channels=64, feat_channels=64,
        stacked_convs=2,
        anchor_generator=dict(octave_base_scale=4, scales_per_octave=2, ratios=[0.5, 1.0, 2.0],
                              strides=[8, 16, 32]),
        loss_cls=dict(_delete_=True, type='APLoss', use_sigmoid=True, delta=1.0, loss_weight=1.0)),
    # AP-Loss ranks, it does not calibrate: a score threshold would only cut recall, so every box
    # competes by rank (for both losses) up to max_per_img.
    test_cfg=dict(score_thr=0.0, max_per_img=20))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
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
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

max_iters = 1100
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=275)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# 0.02 is the best learning rate of a small sweep for each loss of the demo (docs/aploss.md): focal
# loss 0.381 AP50 at 0.02, 0.277 at 0.01, diverged at 0.04; AP-Loss 0.575 at 0.02, 0.567 at 0.01
# (900 iterations).
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
                     clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[825], gamma=0.1),
]
default_hooks = dict(logger=dict(interval=10, log_metric_by_epoch=False),
                     checkpoint=dict(by_epoch=False, interval=275, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=8)
randomness = dict(seed=0)
