# The embedded demo's RetinaNet-R18 (configs/demo/retinanet_r18_focal_demo.py, its baseline) with
# the Two-way loss over the whole minibatch in place of focal loss.
_base_ = '../demo/retinanet_r18_focal_demo.py'

model = dict(bbox_head=dict(
    type='APLossRetinaHead',
    loss_cls=dict(_delete_=True, type='TwoWayLoss', use_sigmoid=True, T_pos=4.0, T_neg=1.0, loss_weight=1.0)))
