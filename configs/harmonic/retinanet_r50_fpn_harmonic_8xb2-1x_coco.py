# RetinaNet R50-FPN trained with the Harmonic loss (focal loss and L1 on deltas, combined per
# positive anchor); everything else is mmdet's retinanet_r50_fpn_1x_coco.py, its baseline.
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(bbox_head=dict(type='HarmonicRetinaHead'))
