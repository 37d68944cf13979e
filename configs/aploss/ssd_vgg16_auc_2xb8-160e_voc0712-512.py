# SSD512 trained with AUC-Loss over the whole minibatch (sigmoid class scores, no hard-negative
# mining), a row of the AP-Loss paper's SSD table (TPAMI version, supplementary Table 1: 33.8 AP /
# 63.7 AP50 / 31.5 AP75 on VOC07 test). Data and schedule of ssd_vgg16_2xb8-160e_voc0712-512.py.
_base_ = './ssd_vgg16_2xb8-160e_voc0712-512.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)
model = dict(bbox_head=dict(
    type='SigmoidSSDHead',
    loss_cls=dict(type='AUCLoss', use_sigmoid=True, delta=1.0, loss_weight=1.0),
    loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0)))
