# The embedded demo's RetinaNet-R18 (its baseline: configs/demo/retinanet_r18_fpn_focal_1xb8-1100i_demo.py)
# with Anchor Loss in place of focal loss.
_base_ = '../demo/retinanet_r18_fpn_focal_1xb8-1100i_demo.py'

model = dict(bbox_head=dict(loss_cls=dict(
    _delete_=True, type='AnchorLoss', use_sigmoid=True, gamma=0.5, slack=0.05, mode='neg', loss_weight=1.0)))
