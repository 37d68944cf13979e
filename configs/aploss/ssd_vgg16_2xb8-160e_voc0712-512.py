# Stock SSD (softmax cross-entropy with hard-negative mining) under the AP-Loss paper's schedule, the
# baseline of ssd_vgg16_aploss_2xb8-160e_voc0712-512.py and the "CE-Loss + OHEM" row of the paper's
# SSD table (TPAMI version, supplementary Table 1: 43.6 AP / 76.0 AP50 / 44.7 AP75 on VOC07 test):
# 160 epochs, lr 0.001 per 16 images (2 GPUs x mmdet's 8 images; every row), 500 warm-up iterations
# from lr / 3, lr / 10 after epochs 110 and 140. Each row is evaluated as in that table: VOC07 test AP averaged over IoU
# thresholds 0.50:0.05:0.95, with AP50 and AP75 among the per-threshold figures.
_base_ = [
    '../_base_/models/ssd512.py',
    '../_base_/datasets/ssd512_voc0712.py',
    '../_base_/schedules/aploss_160e.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

# mmdet 3.3.0's SSDHead cannot predict (open-mmlab/mmdetection#11063); ConfigurableSSDHead has the
# same loss and can. VOC's 20 classes.
model = dict(bbox_head=dict(type='ConfigurableSSDHead', num_classes=20))

# mmdet's SSD data repeats the training set 10 times per epoch; the paper's epochs are real epochs.
train_dataloader = dict(dataset=dict(times=1))
# mmdet's SSD configs' checks: the head's classes are the dataset's, and the loss is finite.
custom_hooks = [dict(type='NumClassCheckHook'),
                dict(type='CheckInvalidLossHook', interval=50, priority='VERY_LOW')]

voc_iou_thresholds = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]
val_evaluator = dict(type='VOCMetric', metric='mAP', eval_mode='area', iou_thrs=voc_iou_thresholds)
test_evaluator = val_evaluator
