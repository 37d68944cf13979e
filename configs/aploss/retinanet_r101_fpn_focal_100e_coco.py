# Baseline for retinanet_r101_fpn_aploss_100e_coco.py (see retinanet_r50_fpn_focal_100e_coco.py).
_base_ = './retinanet_r50_fpn_focal_100e_coco.py'
model = dict(backbone=dict(depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
