# FCOS R50-caffe-FPN GN-head 1x on COCO with AP-Loss (Chen et al., "Towards Accurate One-Stage Object
# Detection with AP-Loss", CVPR 2019) as loss_cls in place of focal loss: the stock FCOSHead ranks
# the points of all FPN levels and images of a step as one. Everything else is mmdet's config.
_base_ = 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(bbox_head=dict(
    loss_cls=dict(_delete_=True, type='APLoss', use_sigmoid=True, delta=1.0, loss_weight=1.0)))
