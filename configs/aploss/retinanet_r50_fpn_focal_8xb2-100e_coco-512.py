# Baseline for retinanet_r50_fpn_aploss_8xb2-100e_coco-512.py: the same data, input, anchors and
# schedule, mmdet's RetinaHead with focal loss. Only the learning rate differs: focal loss trains at mmdet's
# 0.01 per 16 images (at AP-Loss's 0.001 it would be handicapped).
_base_ = './retinanet_r50_fpn_aploss_8xb2-100e_coco-512.py'
model = dict(bbox_head=dict(
    type='RetinaHead',
    loss_cls=dict(_delete_=True, type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                  loss_weight=1.0)))
optim_wrapper = dict(optimizer=dict(lr=0.01))
