# RetinaNet R50-FPN on VOC07+12 with UniLoss of detection AP (16 anchors of each kind, at most 32
# positive and 2048 negative entries per step, loss weight 8: the settings that train the demo
# detector, docs/classification_losses.md; not measured at this scale) over the whole minibatch
# (mmdet's stock RetinaHead, which ranks all FPN levels and images of a step as one once
# mmdet_losses is imported) in place of focal loss; everything else is
# mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py, its baseline.
_base_ = 'mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(bbox_head=dict(
    type='RetinaHead',
    loss_cls=dict(_delete_=True, type='UniLoss', use_sigmoid=True, num_anchors=16, max_positives=32,
                  max_negatives=2048, loss_weight=8.0)))
