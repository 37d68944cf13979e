# RS-SOLOv2 R101, 36 epochs on COCO (Oksuz et al., "Rank & Sort Loss for Object Detection and
# Instance Segmentation", ICCV 2021, sec. 5; 39.7 mask AP in the authors' README) with the authors'
# settings (kemaloksuz/RankSortLoss-Solov2, mmdet 1: configs/ranksort_loss/ranksort_solov2_r101_fpn_3x.py):
# mmdet's SOLOv2 R101 multi-scale 3x, except
# - the head: ValueBalancedSOLOV2Head, Rank & Sort over every (grid cell, class) entry of the
#   minibatch, each positive cell's sorting target its mask's Dice, 1 - Dice weighted by score and
#   balanced by value (no focal loss, no Dice weight 3);
# - 16 images per step as 4 GPUs x 4 (their imgs_per_gpu=4; 4 GPUs assumed, as the authors' other
#   Rank & Sort models), SGD lr 0.006 (SOLOv2: 8 x 2, lr 0.01),
#   500 linear warm-up iterations from lr x 0.01 (SOLOv2: / 3), gradients clipped at 35 as SOLOv2;
# - test score threshold 0.2 (SOLOv2: 0.1).
_base_ = 'mmdet::solov2/solov2_r101_fpn_ms-3x_coco.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(
    mask_head=dict(
        type='ValueBalancedSOLOV2Head',
        loss_cls=dict(_delete_=True, type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0),
        loss_mask=dict(_delete_=True, type='DiceLoss', use_sigmoid=True, loss_weight=1.0)),
    test_cfg=dict(score_thr=0.2))

train_dataloader = dict(batch_size=4)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=36, by_epoch=True, milestones=[27, 33], gamma=0.1),
]
optim_wrapper = dict(optimizer=dict(lr=0.006))
auto_scale_lr = dict(enable=False, base_batch_size=16)
