# mmdet's SSD data on PASCAL VOC07+12 at 300 x 300 (pascal_voc/ssd300_voc0712.py): expand, min-IoU
# crop, flip and photometric distortion, 8 images per GPU, the training set repeated 10 times per
# epoch. ssd512_voc0712.py: the same at 512 x 512.
_base_ = 'mmdet::_base_/datasets/voc0712.py'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    # Filled with the SSD models' mean pixel, in RGB (mmdet's _base_/models/ssd300.py
    # data_preprocessor), which a dataset base cannot read.
    dict(type='Expand', mean=[123.675, 116.28, 103.53], to_rgb=True, ratio_range=(1, 4)),
    dict(type='MinIoURandomCrop', min_ious=(0.1, 0.3, 0.5, 0.7, 0.9), min_crop_size=0.3),
    dict(type='Resize', scale=(300, 300), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion', brightness_delta=32, contrast_range=(0.5, 1.5),
         saturation_range=(0.5, 1.5), hue_delta=18),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(300, 300), keep_ratio=False),
    # After Resize, so that the boxes stay in the original image's coordinates.
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
# The list replaces the base's: mmdet's SSD leaves out its bbox_min_size and backend_args.
train_dataloader = dict(batch_size=8, num_workers=3, dataset=dict(times=10, dataset=dict(datasets=[
    dict(type={{_base_.dataset_type}}, data_root={{_base_.data_root}},
         ann_file='VOC2007/ImageSets/Main/trainval.txt', data_prefix=dict(sub_data_root='VOC2007/'),
         filter_cfg=dict(filter_empty_gt=True, min_size=32), pipeline=train_pipeline),
    dict(type={{_base_.dataset_type}}, data_root={{_base_.data_root}},
         ann_file='VOC2012/ImageSets/Main/trainval.txt', data_prefix=dict(sub_data_root='VOC2012/'),
         filter_cfg=dict(filter_empty_gt=True, min_size=32), pipeline=train_pipeline),
])))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
