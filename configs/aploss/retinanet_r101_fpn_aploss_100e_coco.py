# As retinanet_r50_fpn_aploss_100e_coco.py with a ResNet-101 backbone (paper: 37.4 AP on COCO
# test-dev at 512 px).
_base_ = './retinanet_r50_fpn_aploss_100e_coco.py'
model = dict(backbone=dict(depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
