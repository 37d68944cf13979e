# RS-SOLOv2 light R34, 36 epochs on COCO (Oksuz et al., ICCV 2021, sec. 5; 32.6 mask AP in the authors'
# README) with the authors' settings (kemaloksuz/RankSortLoss-Solov2, mmdet 1:
# configs/ranksort_loss/ranksort_solov2_light_448_r34_fpn_3x.py): mmdet's SOLOv2 light R34 multi-scale
# 3x (shorter side 352-512, tested at 448), except
# - the head: ValueBalancedSOLOV2Head, as in rs_solov2_r101_fpn_4xb4-ms-3x_coco.py;
# - 8 images per GPU (their imgs_per_gpu=8; 4 GPUs assumed, as the authors' other Rank & Sort
#   models), SGD lr 0.012, 500 linear warm-up iterations from lr x 0.01, gradients clipped at 35;
# - test score threshold 0.2 (SOLOv2: 0.1).
_base_ = 'mmdet::solov2/solov2-light_r34_fpn_ms-3x_coco.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(
    mask_head=dict(
        type='ValueBalancedSOLOV2Head',
        loss_cls=dict(_delete_=True, type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0),
        loss_mask=dict(_delete_=True, type='DiceLoss', use_sigmoid=True, loss_weight=1.0)),
    test_cfg=dict(score_thr=0.2))

train_dataloader = dict(batch_size=8)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=36, by_epoch=True, milestones=[27, 33], gamma=0.1),
]
optim_wrapper = dict(optimizer=dict(lr=0.012))
auto_scale_lr = dict(enable=False, base_batch_size=32)
