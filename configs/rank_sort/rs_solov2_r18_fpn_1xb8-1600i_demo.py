# RS-SOLOv2 on the embedded demo data: the head of rs_solov2_r101_fpn_4xb4-ms-3x_coco.py
# (ValueBalancedSOLOV2Head: Rank & Sort over every grid cell and class of the minibatch, each
# positive's sorting target its mask's Dice, 1 - Dice weighted by score and balanced by value) on the
# small SOLOv2 of its baseline solov2_r18_fpn_1xb8-1600i_demo.py: the same backbone, neck, grids, data,
# schedule and learning rate. The test score threshold is the demo's 0 for both, not the authors'
# 0.2. `make demo-rank-sort-solov2` trains and evaluates both.
_base_ = './solov2_r18_fpn_1xb8-1600i_demo.py'

model = dict(
    mask_head=dict(
        type='ValueBalancedSOLOV2Head',
        loss_cls=dict(_delete_=True, type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0),
        loss_mask=dict(_delete_=True, type='DiceLoss', use_sigmoid=True, loss_weight=1.0)))
