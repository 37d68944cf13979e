# As retinanet_r50_fpn_aploss_8xb2-100e_coco-512.py with a caffe-style ResNet-101 (the official
# default depth; paper: 37.4 AP on COCO test-dev, see the _test-dev config).
_base_ = './retinanet_r50_fpn_aploss_8xb2-100e_coco-512.py'
model = dict(backbone=dict(depth=101, init_cfg=dict(type='Pretrained',
                                                    checkpoint='open-mmlab://detectron2/resnet101_caffe')))
