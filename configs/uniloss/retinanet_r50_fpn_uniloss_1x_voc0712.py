# RetinaNet R50-FPN on VOC07+12 with UniLoss of detection AP (16 anchors of each kind, at most 64
# positive and 256 negative entries per step) over the whole minibatch (APLossRetinaHead) in place of
# focal loss; everything else is mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py, its baseline.
_base_ = 'mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(bbox_head=dict(
    type='APLossRetinaHead',
    loss_cls=dict(_delete_=True, type='UniLoss', use_sigmoid=True, num_anchors=16, max_positives=64,
                  max_negatives=256, loss_weight=1.0)))
