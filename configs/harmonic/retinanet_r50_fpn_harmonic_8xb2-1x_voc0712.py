# RetinaNet R50-FPN on VOC07+12 trained with the Harmonic loss; everything else is mmdet's
# pascal_voc/retinanet_r50_fpn_1x_voc0712.py, its baseline.
_base_ = 'mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(bbox_head=dict(type='HarmonicRetinaHead'))
