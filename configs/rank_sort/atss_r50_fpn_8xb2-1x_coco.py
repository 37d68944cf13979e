# The baseline of rs_atss_r50_fpn_4xb4-1x_coco.py: mmdet's own ATSS R50 1x (focal loss, centerness,
# GIoU; 8 GPUs x 2 images, lr 0.01), 39.4 AP on COCO val2017 in mmdet's model zoo.
_base_ = 'mmdet::atss/atss_r50_fpn_1x_coco.py'
