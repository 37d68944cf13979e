# aLRP Loss RetinaNet R50 on COCO (Oksuz et al., "A Ranking-based, Balanced Loss Function Unifying
# Classification and Localisation in Object Detection", NeurIPS 2020; 39.0 AP on minival, 39.5 on
# test-dev in the authors' README) with the authors' settings (kemaloksuz/aLRPLoss, mmdet 2:
# configs/alrp_loss/alrp_loss_retinanet_r50_fpn_100e_coco500.py and its bases), on mmdet's RetinaNet R50:
# - the head: ALRPRetinaHead (ALRPLoss, delta 1: one ranking of every (anchor, class) entry of the
#   minibatch; GIoU of the decoded boxes as each positive's error; the self-balance weight, 50 at
#   the start, updated at each epoch's end by ALRPSelfBalanceHook: no box-loss weight);
# - anchors: 2 scales per octave (6 per location; their anchor_generator scales_per_octave=2);
#   box deltas divided by (0.1, 0.1, 0.2, 0.2);
# - data (their coco500_detection_augm.py, ../_base_/datasets/alrp_coco-512_pipelines.py): photometric
#   distortion, expand 1-4, min-IoU random crop, 512 x 512 without the aspect, flip; tested at short side 500;
# - 32 images per step as 4 GPUs x 8 (their samples_per_gpu=8; the authors' self-balance period,
#   3665 iterations, is one COCO epoch at 32 images), SGD lr 0.008, 100 epochs, lr / 10 after
#   epochs 60 and 80, 500 linear warm-up iterations from lr x 0.001 (their schedule_1x base).
# Under distributed training ALRPLoss ranks the images of all GPUs as one minibatch
# (ranking='global'); ranking='local' ranks each GPU's 8 images apart, as the authors' code does.
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_1x_coco.py', '../_base_/datasets/alrp_coco-512_pipelines.py']
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(bbox_head=dict(
    type='ALRPRetinaHead',
    anchor_generator=dict(scales_per_octave=2),
    bbox_coder=dict(target_stds=[0.1, 0.1, 0.2, 0.2]),
    loss_cls=dict(_delete_=True, type='ALRPLoss', use_sigmoid=True, delta=1.0),
    loss_bbox=dict(_delete_=True, type='GIoULoss', loss_weight=1.0)))
custom_hooks = [dict(type='ALRPSelfBalanceHook')]

train_dataloader = dict(batch_size=8, num_workers=4, dataset=dict(pipeline={{_base_.alrp_train_pipeline}}))
val_dataloader = dict(dataset=dict(pipeline={{_base_.alrp_test_pipeline}}))
test_dataloader = val_dataloader

max_epochs = 100
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[60, 80], gamma=0.1),
]
optim_wrapper = dict(optimizer=dict(lr=0.008))
auto_scale_lr = dict(enable=False, base_batch_size=32)
