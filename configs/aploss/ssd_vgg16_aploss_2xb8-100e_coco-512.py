# SSD512 trained with AP-Loss over the whole minibatch (sigmoid class scores, no hard-negative
# mining), with the data and schedule of its stock-SSD baseline ssd_vgg16_2xb8-100e_coco-512.py.
_base_ = './ssd_vgg16_2xb8-100e_coco-512.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)
model = dict(bbox_head=dict(
    type='SigmoidSSDHead',
    loss_cls=dict(type='APLoss', use_sigmoid=True, delta=1.0, loss_weight=1.0),
    loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0)))
