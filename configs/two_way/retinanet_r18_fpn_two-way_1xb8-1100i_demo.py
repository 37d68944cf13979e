# The embedded demo's RetinaNet-R18 (its baseline: configs/demo/retinanet_r18_fpn_focal_1xb8-1100i_demo.py)
# with the Two-way loss over the whole minibatch in place of focal loss.
_base_ = '../demo/retinanet_r18_fpn_focal_1xb8-1100i_demo.py'

model = dict(bbox_head=dict(
    type='RetinaHead',
    loss_cls=dict(_delete_=True, type='TwoWayLoss', use_sigmoid=True, T_pos=4.0, T_neg=1.0, loss_weight=1.0)))
