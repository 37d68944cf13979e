# The embedded demo's RetinaNet-R18 (configs/demo/retinanet_r18_focal_demo.py, its baseline) with
# Anchor Loss in place of focal loss.
_base_ = '../demo/retinanet_r18_focal_demo.py'

model = dict(bbox_head=dict(loss_cls=dict(
    _delete_=True, type='AnchorLoss', use_sigmoid=True, gamma=0.5, slack=0.05, mode='neg', loss_weight=1.0)))
