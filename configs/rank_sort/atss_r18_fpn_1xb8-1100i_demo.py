# The baseline of rs_atss_r18_fpn_1xb8-1100i_demo.py: mmdet's ATSS head (focal loss, centerness, GIoU,
# one anchor of scale 8 per location) on the same small detector, data and schedule.
_base_ = './rs_atss_r18_fpn_1xb8-1100i_demo.py'

model = dict(bbox_head=dict(
    type='ATSSHead',
    anchor_generator=dict(octave_base_scale=8, scales_per_octave=1),
    loss_cls=dict(_delete_=True, type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
    loss_bbox=dict(loss_weight=2.0),
    loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)))
