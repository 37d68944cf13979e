# Baseline for retinanet_r101_fpn_aploss_8xb2-100e_coco-512.py (see
# retinanet_r50_fpn_focal_8xb2-100e_coco-512.py).
_base_ = './retinanet_r50_fpn_focal_8xb2-100e_coco-512.py'
model = dict(backbone=dict(depth=101, init_cfg=dict(type='Pretrained',
                                                    checkpoint='open-mmlab://detectron2/resnet101_caffe')))
