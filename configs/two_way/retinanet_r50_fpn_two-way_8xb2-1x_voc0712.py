# RetinaNet R50-FPN on VOC07+12 with the Two-way loss (T_pos 4, T_neg 1) over the whole minibatch
# (mmdet's stock RetinaHead, which ranks all FPN levels and images of a step as one once
# mmdet_losses is imported) in place of focal loss; everything else is
# mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py, its baseline.
_base_ = 'mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(bbox_head=dict(
    type='RetinaHead',
    loss_cls=dict(_delete_=True, type='TwoWayLoss', use_sigmoid=True, T_pos=4.0, T_neg=1.0, loss_weight=1.0)))
