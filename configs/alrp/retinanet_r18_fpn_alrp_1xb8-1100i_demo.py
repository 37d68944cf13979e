# aLRP Loss on the demo's small RetinaNet (retinanet_r18_fpn_aploss_1xb8-1100i_demo.py: the same
# detector, data and schedule): ALRPRetinaHead with GIoU on the decoded boxes and deltas' stds
# (0.1, 0.1, 0.2, 0.2) as the authors'; its self-balance weight updated by ALRPSelfBalanceHook at the
# end of each epoch of the run's own schedule (every len(train_dataloader) iterations here).
_base_ = '../demo/retinanet_r18_fpn_aploss_1xb8-1100i_demo.py'

model = dict(bbox_head=dict(
    type='ALRPRetinaHead',
    bbox_coder=dict(target_stds=[0.1, 0.1, 0.2, 0.2]),
    loss_cls=dict(_delete_=True, type='ALRPLoss', use_sigmoid=True, delta=1.0),
    loss_bbox=dict(_delete_=True, type='GIoULoss', loss_weight=1.0)))
custom_hooks = [dict(type='ALRPSelfBalanceHook')]
