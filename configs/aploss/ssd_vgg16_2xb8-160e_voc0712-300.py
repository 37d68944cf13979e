# Stock SSD (softmax cross-entropy with hard-negative mining) under the AP-Loss paper's schedule, the
# baseline of ssd_vgg16_aploss_2xb8-160e_voc0712-300.py: 160 epochs, lr 0.001 per 16 images (2 GPUs
# x mmdet's 8 images; both configs), 500 warm-up iterations from lr / 3, lr / 10 after epochs 110
# and 140.
_base_ = [
    'mmdet::_base_/models/ssd300.py',
    '../_base_/datasets/ssd_voc0712.py',
    '../_base_/schedules/aploss_160e.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

# mmdet 3.3.0's SSDHead cannot predict (open-mmlab/mmdetection#11063); ConfigurableSSDHead has the
# same loss and can. VOC's 20 classes; anchors of 0.2-0.9 x the image, as mmdet's
# pascal_voc/ssd300_voc0712.py.
model = dict(bbox_head=dict(type='ConfigurableSSDHead', num_classes=20,
                            anchor_generator=dict(basesize_ratio_range=(0.2, 0.9))))

# mmdet's SSD data repeats the training set 10 times per epoch; the paper's epochs are real epochs.
train_dataloader = dict(dataset=dict(times=1))
# mmdet's SSD configs' checks: the head's classes are the dataset's, and the loss is finite.
custom_hooks = [dict(type='NumClassCheckHook'),
                dict(type='CheckInvalidLossHook', interval=50, priority='VERY_LOW')]
