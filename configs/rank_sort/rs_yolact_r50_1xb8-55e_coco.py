# RS-YOLACT: YOLACT R50 on COCO at 550 px, 55 epochs (Oksuz et al., "Rank & Sort Loss for Object
# Detection and Instance Segmentation", ICCV 2021, sec. 5; 29.9 mask AP / 33.8 box AP in the
# authors' README) with the authors' settings (their configs/ranksort_loss/ranksort_yolact_r50_55e_coco.py,
# mmdet 2): mmdet's YOLACT R50, except
# - the box head: C sigmoid scores, Rank & Sort over every anchor of every level and image (no OHEM),
#   each positive's sorting target the IoU of its decoded box, GIoU weighted by score, the value-based
#   balance (ValueBalancedYOLACTHead);
# - the mask head: 1 - Dice of every positive's mask, weighted by its score, balanced by value; no
#   semantic segmentation branch (ValueBalancedYOLACTProtonet; loss_mask_weight and loss_segm unused);
# - SGD lr 0.006 (YOLACT: 0.001), cosine annealing to 0 over the 55 epochs after 500 linear warm-up
#   iterations from lr x 0.1 (YOLACT: steps at epochs 20, 42, 49, 52).
# The data are mmdet's YOLACT pipeline (the authors' applies the photometric distortion first).
_base_ = 'mmdet::yolact/yolact_r50_1xb8-55e_coco.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(
    bbox_head=dict(
        type='ValueBalancedYOLACTHead',
        use_ohem=False,
        loss_cls=dict(_delete_=True, type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0),
        loss_bbox=dict(_delete_=True, type='GIoULoss', loss_weight=1.0)),
    mask_head=dict(type='ValueBalancedYOLACTProtonet', with_seg_branch=False))

max_epochs = 55
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=500),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.0, by_epoch=True, begin=0, end=max_epochs),
]
optim_wrapper = dict(optimizer=dict(lr=6e-3))
