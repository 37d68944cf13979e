# SSD512 trained with focal loss over sigmoid class scores (no hard-negative mining), a row of the
# AP-Loss paper's SSD table (TPAMI version, supplementary Table 1: 39.3 AP / 69.9 AP50 / 38.0 AP75 on
# VOC07 test). The paper found gamma 1, alpha 0.25 much better than focal loss's own gamma 2 for SSD.
# Data and schedule of ssd_vgg16_2xb8-160e_voc0712-512.py.
_base_ = './ssd_vgg16_2xb8-160e_voc0712-512.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)
model = dict(bbox_head=dict(
    type='SigmoidSSDHead',
    loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=1.0, alpha=0.25, loss_weight=1.0),
    loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0)))
