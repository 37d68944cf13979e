# Stock SSD (softmax cross-entropy with hard-negative mining) under the AP-Loss paper's schedule, the
# baseline of ssd_vgg16_aploss_2xb8-160e_voc0712-512.py and the "CE-Loss + OHEM" row of the paper's
# SSD table (TPAMI version, supplementary Table 1: 43.6 AP / 76.0 AP50 / 44.7 AP75 on VOC07 test):
# 160 epochs, lr 0.001 per 16 images (2 GPUs x mmdet's 8 images; every row), 500 warm-up iterations
# from lr / 3, lr / 10 after epochs 110 and 140. Each row is evaluated as in that table: VOC07 test AP averaged over IoU
# thresholds 0.50:0.05:0.95, with AP50 and AP75 among the per-threshold figures.
_base_ = 'mmdet::pascal_voc/ssd512_voc0712.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

# mmdet 3.3.0's SSDHead cannot predict (open-mmlab/mmdetection#11063); ConfigurableSSDHead has the
# same loss and can.
model = dict(bbox_head=dict(type='ConfigurableSSDHead'))

# mmdet's config repeats the training set 10 times per epoch; the paper's epochs are real epochs.
train_dataloader = dict(dataset=dict(times=1))
# The schedule of ../_base_/schedules/aploss_160e.py, written out: mmdet's SSD config above sets every
# schedule key, and mmengine forbids two bases that set the same key, so this config cannot inherit
# both (tests/configs checks that these values are the schedule base's).
max_epochs = 160
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
optim_wrapper = dict(optimizer=dict(lr=0.001, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=max_epochs, milestones=[110, 140], gamma=0.1),
]
auto_scale_lr = dict(enable=False, base_batch_size=16)

voc_iou_thresholds = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]
val_evaluator = dict(type='VOCMetric', metric='mAP', eval_mode='area', iou_thrs=voc_iou_thresholds)
test_evaluator = val_evaluator
