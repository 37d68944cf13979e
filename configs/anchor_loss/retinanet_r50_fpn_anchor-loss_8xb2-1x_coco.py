# RetinaNet R50-FPN on COCO with Anchor Loss ('neg' mode, gamma 0.5, slack 0.05) in place of focal
# loss; everything else is mmdet::retinanet/retinanet_r50_fpn_1x_coco.py, its baseline.
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(bbox_head=dict(loss_cls=dict(
    _delete_=True, type='AnchorLoss', use_sigmoid=True, gamma=0.5, slack=0.05, mode='neg', loss_weight=1.0)))
