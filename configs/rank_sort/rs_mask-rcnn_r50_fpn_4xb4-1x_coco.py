# RS-Mask R-CNN: Mask R-CNN R50 1x on COCO (Oksuz et al., "Rank & Sort Loss for Object Detection and
# Instance Segmentation", ICCV 2021, sec. 5; 40.0 box AP / 36.4 mask AP on minival in the authors'
# README) with the authors' settings (their configs/ranksort_loss/ranksort_mask_rcnn_r50_fpn_1x_coco.py,
# mmdet 2): RS-R-CNN's RPN and box head (rs_faster-rcnn_r50_fpn_4xb4-1x_coco.py) on mmdet's Mask R-CNN
# R50 1x, and the mask loss in the value-based balance: 1 - Dice per positive RoI, weighted by its
# score, scaled to the classification loss (ValueBalancedRoIHead, ValueBalancedMaskHead); 16 images
# per step as 4 GPUs x 4 images, lr 0.012; test score threshold 0.40.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(
    rpn_head=dict(
        type='ValueBalancedRPNHead',
        head_weight=0.2,
        bbox_coder=dict(target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=dict(_delete_=True, type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0),
        loss_bbox=dict(_delete_=True, type='GIoULoss', loss_weight=1.0)),
    roi_head=dict(
        type='ValueBalancedRoIHead',
        bbox_head=dict(
            type='ValueBalancedBBoxHead',
            loss_cls=dict(_delete_=True, type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0),
            loss_bbox=dict(_delete_=True, type='GIoULoss', loss_weight=1.0)),
        mask_head=dict(type='ValueBalancedMaskHead')),
    train_cfg=dict(
        rpn=dict(sampler=dict(_delete_=True, type='PseudoSampler')),
        rcnn=dict(sampler=dict(num=int(1e10)))),
    test_cfg=dict(rcnn=dict(score_thr=0.40)))

train_dataloader = dict(batch_size=4, num_workers=4)
optim_wrapper = dict(optimizer=dict(lr=0.012))
auto_scale_lr = dict(enable=False, base_batch_size=16)
