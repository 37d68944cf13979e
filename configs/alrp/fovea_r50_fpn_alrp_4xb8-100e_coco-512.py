# aLRP Loss FoveaBox R50 on COCO (Oksuz et al., NeurIPS 2020; 39.7 AP on minival in the authors'
# README, against 38.3 with focal loss and 36.5 with AP Loss) with the authors' settings
# (kemaloksuz/aLRPLoss, configs/alrp_loss/alrp_loss_fovea_r50_fpn_4x4_100e_coco500.py), on mmdet's
# FoveaBox R50:
# - the head: ALRPFoveaHead (ALRPLoss, delta 1, over every (location, class) entry of the minibatch;
#   GIoU between the boxes decoded from FoveaBox's predicted and target edges; the self-balance
#   weight, 50 at the start, updated at each epoch's end by ALRPSelfBalanceHook);
# - data as the aLRP RetinaNet (../_base_/datasets/alrp_coco-512_pipelines.py): 512 x 512 SSD-style
#   training, tested at short side 500;
# - 32 images per step as 4 GPUs x 8, SGD lr 0.008, 100 epochs, lr / 10 after epochs 75 and 95, 500
#   linear warm-up iterations from lr x 0.001 (their schedule_1x base).
_base_ = ['mmdet::foveabox/fovea_r50_fpn_4xb4-1x_coco.py', '../_base_/datasets/alrp_coco-512_pipelines.py']
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(bbox_head=dict(
    type='ALRPFoveaHead',
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
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[75, 95], gamma=0.1),
]
optim_wrapper = dict(optimizer=dict(lr=0.008))
auto_scale_lr = dict(enable=False, base_batch_size=32)
