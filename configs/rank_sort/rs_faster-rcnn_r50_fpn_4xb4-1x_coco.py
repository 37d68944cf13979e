# RS-R-CNN: Faster R-CNN R50 1x on COCO (Oksuz et al., "Rank & Sort Loss for Object Detection and
# Instance Segmentation", ICCV 2021, sec. 5; 39.6 AP on minival in the authors' README, mmdet's
# Faster R-CNN R50 1x 37.4) with the authors' settings (their
# configs/ranksort_loss/ranksort_faster_rcnn_r50_fpn_1x_coco.py, mmdet 2): mmdet's Faster R-CNN R50
# 1x, except
# - the RPN: Rank & Sort over every anchor of every level and image (no sampler), IoU sorting
#   targets, GIoU weighted by score, the value-based balance, all times 0.2 (their head_weight), and
#   box deltas normalised by (0.1, 0.1, 0.2, 0.2) (ValueBalancedRPNHead);
# - the RoI head: one sigmoid score per class, Rank & Sort over every proposal with the ground
#   truths added (their sampler: RandomSampler with num=1e10, so nothing is dropped), IoU sorting
#   targets, GIoU weighted by score, the value-based balance (ValueBalancedBBoxHead);
# - 16 images per step as 4 GPUs x 4 images, lr 0.012 (Faster R-CNN: 8 x 2, lr 0.02);
# - test score threshold 0.40 for the RoI head (their config: faster inference, about -0.01 AP).
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(
    rpn_head=dict(
        type='ValueBalancedRPNHead',
        head_weight=0.2,
        bbox_coder=dict(target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=dict(_delete_=True, type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0),
        loss_bbox=dict(_delete_=True, type='GIoULoss', loss_weight=1.0)),
    roi_head=dict(bbox_head=dict(
        type='ValueBalancedBBoxHead',
        loss_cls=dict(_delete_=True, type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0),
        loss_bbox=dict(_delete_=True, type='GIoULoss', loss_weight=1.0))),
    train_cfg=dict(
        rpn=dict(sampler=dict(_delete_=True, type='PseudoSampler')),
        rcnn=dict(sampler=dict(num=int(1e10)))),
    test_cfg=dict(rcnn=dict(score_thr=0.40)))

train_dataloader = dict(batch_size=4, num_workers=4)
optim_wrapper = dict(optimizer=dict(lr=0.012))
auto_scale_lr = dict(enable=False, base_batch_size=16)
