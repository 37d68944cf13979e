# RS-ATSS on the embedded demo data: the demo's small backbone, neck, data and schedule
# (../demo/retinanet_r18_fpn_aploss_1xb8-1100i_demo.py) with ValueBalancedATSSHead and the authors' anchors
# (3 scales, ratio 1) and ATSS assignment; compared with atss_r18_fpn_1xb8-1100i_demo.py by
# `make demo-rank-sort`.
_base_ = '../demo/retinanet_r18_fpn_aploss_1xb8-1100i_demo.py'

model = dict(
    type='ATSS',
    bbox_head=dict(
        _delete_=True,
        type='ValueBalancedATSSHead',
        num_classes=4,
        in_channels=64,
        stacked_convs=2,
        feat_channels=64,
        anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=4, scales_per_octave=3,
                              strides=[8, 16, 32]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0], target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=dict(type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0)),
    train_cfg=dict(_delete_=True, assigner=dict(type='ATSSAssigner', topk=9), allowed_border=-1, pos_weight=-1,
                   debug=False),
    test_cfg=dict(nms=dict(iou_threshold=0.6)))
# lr 0.01 (the demo's RetinaNets train at 0.02): the best of 0.005 / 0.01 / 0.02 / 0.04 for this head
# and for the ATSS baseline alike (docs/rank_sort.md).
optim_wrapper = dict(optimizer=dict(lr=0.01))
