# RetinaNet R50-FPN with AP-Loss on PASCAL VOC07+12 (evaluated on VOC07 test): 512x512 input,
# anchors of 3 ratios x 2 scales, the paper's 160-epoch schedule.
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    'mmdet::_base_/datasets/voc0712.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/schedules/aploss_160e.py',
]
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

image_size = (512, 512)
model = dict(bbox_head=dict(
    type='APLossRetinaHead', num_classes=20,
    anchor_generator=dict(octave_base_scale=4, scales_per_octave=2, ratios=[0.5, 1.0, 2.0]),
    loss_cls=dict(_delete_=True, type='APLoss', use_sigmoid=True, delta=1.0, loss_weight=1.0)))

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_size, keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='Resize', scale=image_size, keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
# mmdet's VOC base repeats the training set 3 times per epoch; the paper's epochs are real epochs.
# (A list in a config replaces the base's list, so both trainval sets are written out in full.)
voc_trainval = dict(type='VOCDataset', data_root={{_base_.data_root}}, pipeline=train_pipeline,
                    filter_cfg=dict(filter_empty_gt=True, min_size=32, bbox_min_size=32),
                    backend_args={{_base_.backend_args}})
train_dataloader = dict(dataset=dict(times=1, dataset=dict(datasets=[
    dict(voc_trainval, ann_file='VOC2007/ImageSets/Main/trainval.txt',
         data_prefix=dict(sub_data_root='VOC2007/')),
    dict(voc_trainval, ann_file='VOC2012/ImageSets/Main/trainval.txt',
         data_prefix=dict(sub_data_root='VOC2012/')),
])))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
