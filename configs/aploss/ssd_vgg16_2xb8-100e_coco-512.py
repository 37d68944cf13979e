# Stock SSD (softmax cross-entropy with hard-negative mining) under the AP-Loss paper's schedule, the
# baseline of ssd_vgg16_aploss_2xb8-100e_coco-512.py: 100 epochs, lr 0.001 per 16 images (2 GPUs x
# mmdet's 8 images; both configs), 500 warm-up iterations from lr / 3, lr / 10 after epochs 60 and 80.
_base_ = [
    '../_base_/models/ssd512.py',
    '../_base_/datasets/ssd512_coco.py',
    '../_base_/schedules/aploss_100e.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

# mmdet 3.3.0's SSDHead cannot predict (open-mmlab/mmdetection#11063); ConfigurableSSDHead has the
# same loss and can. Anchors of 0.1-0.9 x the image, as mmdet's ssd/ssd512_coco.py.
model = dict(bbox_head=dict(type='ConfigurableSSDHead',
                            anchor_generator=dict(basesize_ratio_range=(0.1, 0.9))))

# mmdet's SSD data repeats COCO 5 times per epoch; the paper's epochs are real epochs.
train_dataloader = dict(dataset=dict(times=1))
# Validation every 10 epochs (the schedule base: every 5).
train_cfg = dict(val_interval=10)
# mmdet's SSD configs' checks: the head's classes are the dataset's, and the loss is finite.
custom_hooks = [dict(type='NumClassCheckHook'),
                dict(type='CheckInvalidLossHook', interval=50, priority='VERY_LOW')]
