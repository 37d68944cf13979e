# aLRP Loss Faster R-CNN R50 on COCO (Oksuz et al., NeurIPS 2020; 40.7 AP on minival in the authors'
# README, against 38.2 with cross-entropy and GIoU) with the authors' settings (kemaloksuz/aLRPLoss,
# configs/alrp_loss/alrp_loss_faster_rcnn_r50_fpn_100e_coco500.py), on mmdet's Faster R-CNN R50:
# - the RPN: ALRPRPNHead, aLRP Loss over every anchor of every level and image (no sampler), GIoU
#   errors over 2 (1 - 0.7), its own self-balance weight, both losses times 0.2 (their head_weight),
#   box deltas divided by (0.1, 0.1, 0.2, 0.2);
# - the RoI head: ALRPBBoxHead, one sigmoid score per class, aLRP Loss over every proposal
#   (their rcnn sampler: PseudoSampler, no ground truths added), GIoU of the class's decoded box,
#   its own self-balance weight; both weights updated at each epoch's end by ALRPSelfBalanceHook;
# - data as the aLRP RetinaNet (../_base_/datasets/alrp_coco-512_pipelines.py): 512 x 512 SSD-style
#   training, tested at short side 500;
# - 32 images per step as 4 GPUs x 8 (their samples_per_gpu=8), SGD lr 0.012, 100 epochs, lr / 10
#   after epochs 75 and 95, 500 linear warm-up iterations from lr x 0.001 (their schedule_1x base).
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', '../_base_/datasets/alrp_coco-512_pipelines.py']
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(
    rpn_head=dict(
        type='ALRPRPNHead',
        head_weight=0.2,
        bbox_coder=dict(target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=dict(_delete_=True, type='ALRPLoss', use_sigmoid=True, delta=1.0),
        loss_bbox=dict(_delete_=True, type='GIoULoss', loss_weight=1.0)),
    roi_head=dict(bbox_head=dict(
        type='ALRPBBoxHead',
        loss_cls=dict(_delete_=True, type='ALRPLoss', use_sigmoid=True, delta=1.0),
        loss_bbox=dict(_delete_=True, type='GIoULoss', loss_weight=1.0))),
    train_cfg=dict(
        rpn=dict(sampler=dict(_delete_=True, type='PseudoSampler')),
        rcnn=dict(sampler=dict(_delete_=True, type='PseudoSampler'))))
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
optim_wrapper = dict(optimizer=dict(lr=0.012))
auto_scale_lr = dict(enable=False, base_batch_size=32)
