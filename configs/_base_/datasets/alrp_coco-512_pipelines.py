# The aLRP Loss authors' COCO data (kemaloksuz/aLRPLoss, mmdet 2: configs/_base_/datasets/
# coco500_detection_augm.py), as pipelines for the configs in configs/alrp/ to use
# (train_dataloader = dict(dataset=dict(pipeline={{_base_.alrp_train_pipeline}})) and so on):
# training on photometric distortion, expand 1-4, min-IoU random crop (0.1, 0.3, 0.5, 0.7, 0.9),
# 512 x 512 without the aspect and flip; testing at short side 500 (at most 833).
alrp_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PhotoMetricDistortion', brightness_delta=32, contrast_range=(0.5, 1.5),
         saturation_range=(0.5, 1.5), hue_delta=18),
    dict(type='Expand', mean=[123.675, 116.28, 103.53], to_rgb=True, ratio_range=(1, 4)),
    dict(type='MinIoURandomCrop', min_ious=(0.1, 0.3, 0.5, 0.7, 0.9), min_crop_size=0.3),
    dict(type='Resize', scale=(512, 512), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
alrp_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(833, 500), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
