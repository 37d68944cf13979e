# RS-Mask R-CNN on the embedded demo data: the heads and settings of rs_mask-rcnn_r50_fpn_4xb4-1x_coco.py
# (ValueBalancedRPNHead with Rank & Sort, GIoU and head_weight 0.2 and no sampler; ValueBalancedRoIHead
# with ValueBalancedBBoxHead over every proposal plus the ground truths and ValueBalancedMaskHead, the
# mask loss 1 - Dice in the value-based balance) on the small Mask R-CNN of its baseline
# mask-rcnn_r18_fpn_1xb8-800i_demo.py: the same backbone, neck, anchors, proposal counts, fc and mask
# convs, data, schedule and learning rate. The test score threshold is the demo's 0 for both, not the
# authors' 0.40. `make demo-rank-sort-mask` trains and evaluates both.
_base_ = './mask-rcnn_r18_fpn_1xb8-800i_demo.py'

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
        rcnn=dict(sampler=dict(num=int(1e10)))))
