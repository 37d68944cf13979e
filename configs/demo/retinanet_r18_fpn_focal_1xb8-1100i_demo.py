# The focal-loss baseline of retinanet_r18_fpn_aploss_1xb8-1100i_demo.py: the same model (mmdet's
# stock RetinaHead), data and schedule, with focal loss.
_base_ = './retinanet_r18_fpn_aploss_1xb8-1100i_demo.py'

model = dict(bbox_head=dict(
    type='RetinaHead',
    loss_cls=dict(_delete_=True, type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                  loss_weight=1.0)))
