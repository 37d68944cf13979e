# The official AP-Loss RetinaNet recipe in mmdet's terms (cccorn/AP-loss: lib/config.py,
# lib/dataloader/augmentations.py, lib/model/aploss.py, lib/model/model.py), shared by
# configs/aploss/retinanet_*_8xb2-*-512.py. Where mmdet cannot express the official code exactly,
# the comment says so.
_base_ = ['mmdet::_base_/models/retinanet_r50_fpn.py', 'mmdet::_base_/default_runtime.py']
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

# Caffe-style (MSRA) ResNet, BGR input minus the official pixel means and no std division
# (lib/config.py pixel_mean; the loader's Normalizer subtracts the mean only); conv1 and layer1
# frozen, every BatchNorm frozen in eval mode (lib/model/model.py). The official R-50 has a bias in
# conv1, which mmdet's caffe ResNet lacks, and loads its own conversion of the MSRA weights; here
# mmdet's detectron2 conversion of the same MSRA models.
pixel_mean_bgr = [102.9801, 115.9465, 122.7717]
model = dict(
    data_preprocessor=dict(mean=pixel_mean_bgr, std=[1.0, 1.0, 1.0], bgr_to_rgb=False, pad_size_divisor=32),
    backbone=dict(style='caffe', frozen_stages=1, norm_cfg=dict(type='BN', requires_grad=False), norm_eval=True,
                  init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet50_caffe')),
    bbox_head=dict(
        # mmdet's stock RetinaHead: with mmdet_losses imported, its APLoss ranks all FPN levels and
        # images of a step as one.
        type='RetinaHead',
        # 3 ratios x 2 scales (2^0, 2^(1/2)) of octave base 4 on P3-P7 (lib/config.py, anchors.py).
        anchor_generator=dict(octave_base_scale=4, scales_per_octave=2, ratios=[0.5, 1.0, 2.0]),
        # Targets divided by (0.1, 0.1, 0.2, 0.2) (lib/model/aploss.py). The official coder adds 1
        # to widths and heights (the old +1 pixel convention); mmdet's does not.
        bbox_coder=dict(target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=dict(_delete_=True, type='APLoss', use_sigmoid=True, delta=1.0, loss_weight=1.0),
        # Smooth L1 with beta 1, its gradient divided by 4 x the number of positives
        # (lib/model/aploss.py: regression_grads /= 4 * p_num). mmdet's SmoothL1Loss sums the 4
        # coordinates over avg_factor = the number of positives: loss_weight 0.25 is the same.
        loss_bbox=dict(_delete_=True, type='SmoothL1Loss', beta=1.0, loss_weight=0.25),
        # Regression output initialised with std 0.001, the rest as RetinaNet (lib/model/model.py).
        init_cfg=dict(type='Normal', layer='Conv2d', std=0.01, override=[
            dict(type='Normal', name='retina_cls', std=0.01, bias_prob=0.01),
            dict(type='Normal', name='retina_reg', std=0.001)])),
    # Official test: top 1000 per level, score > 0.01 (the official code thresholds after the
    # top-k and not at all on P7; mmdet thresholds first, on every level), per-class NMS at IoU
    # 0.5, 100 boxes per image.
    test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.01, nms=dict(type='nms', iou_threshold=0.5),
                  max_per_img=100))

# SSD-style training augmentation (lib/dataloader/augmentations.py, class Augmentation):
# photometric distortion (brightness 32, contrast and saturation 0.5-1.5, hue 18), expand with the
# mean (ratio 1-4, half the time), min-IoU random crop with the official IoU set {0.1, 0.3, 0.7,
# 0.9} plus "no crop" and "any crop" (crops of 0.3-1 of each side, aspect 0.5-2), resize to
# 512 x 512, flip. Not expressible in mmdet: the official PCA lighting noise (std 0.1), its random
# choice of resize interpolation, and its crop test (the official code accepts a crop when the
# best-overlapping box reaches the IoU; mmdet's MinIoURandomCrop requires every box to).
aploss_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PhotoMetricDistortion', brightness_delta=32, contrast_range=(0.5, 1.5),
         saturation_range=(0.5, 1.5), hue_delta=18),
    dict(type='Expand', mean=pixel_mean_bgr, to_rgb=False, ratio_range=(1, 4), prob=0.5),
    dict(type='MinIoURandomCrop', min_ious=(0.1, 0.3, 0.7, 0.9), min_crop_size=0.3),
    dict(type='Resize', scale=(512, 512), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
# Official test input: the short side resized to 500, the long side at most 833, aspect kept.
aploss_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(833, 500), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]

# The official code keeps a checkpoint for every epoch; here the last 3 and the best.
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3, save_best='auto'))
randomness = dict(seed=0)
