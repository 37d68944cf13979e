# Baseline for retinanet_r50_fpn_aploss_8xb2-160e_voc0712-512.py (see
# retinanet_r50_fpn_focal_8xb2-100e_coco-512.py).
_base_ = './retinanet_r50_fpn_aploss_8xb2-160e_voc0712-512.py'
model = dict(bbox_head=dict(
    type='RetinaHead',
    loss_cls=dict(_delete_=True, type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                  loss_weight=1.0)))
optim_wrapper = dict(optimizer=dict(lr=0.01))
