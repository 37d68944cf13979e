# mmdet's SSD data on COCO at 512 x 512 (ssd/ssd512_coco.py over ssd/ssd300_coco.py): the
# augmentation of ssd_voc0712.py, 8 images per GPU, the training set repeated 5 times per epoch.
_base_ = 'mmdet::_base_/datasets/coco_detection.py'

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    # Filled with the SSD models' mean pixel, in RGB (mmdet's _base_/models/ssd300.py
    # data_preprocessor), which a dataset base cannot read.
    dict(type='Expand', mean=[123.675, 116.28, 103.53], to_rgb=True, ratio_range=(1, 4)),
    dict(type='MinIoURandomCrop', min_ious=(0.1, 0.3, 0.5, 0.7, 0.9), min_crop_size=0.3),
    dict(type='Resize', scale=(512, 512), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion', brightness_delta=32, contrast_range=(0.5, 1.5),
         saturation_range=(0.5, 1.5), hue_delta=18),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='Resize', scale=(512, 512), keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
# Every image comes out 512 x 512, so no aspect-ratio grouping.
train_dataloader = dict(batch_size=8, num_workers=2, batch_sampler=None, dataset=dict(
    _delete_=True, type='RepeatDataset', times=5,
    dataset=dict(type={{_base_.dataset_type}}, data_root={{_base_.data_root}},
                 ann_file='annotations/instances_train2017.json', data_prefix=dict(img='train2017/'),
                 filter_cfg=dict(filter_empty_gt=True, min_size=32), pipeline=train_pipeline,
                 backend_args={{_base_.backend_args}})))
val_dataloader = dict(batch_size=8, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
