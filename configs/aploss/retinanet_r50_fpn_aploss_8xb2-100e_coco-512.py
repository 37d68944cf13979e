# RetinaNet R50-FPN trained with AP-Loss, the official recipe on COCO (see
# ../_base_/models/retinanet_r50_caffe_fpn_aploss_512.py): 512 x 512 SSD-style training, tested at
# short side 500; 100 epochs, lr 0.001 per 16 images. 16 images per step as officially (8 per GPU x
# 2 GPUs there): 8 GPUs x 2 images here, and APLoss ranks all 16 in ONE ranking across the GPUs
# (ranking='global'; the official code ranks the 8 images of each GPU apart). On another number of
# GPUs add --auto-scale-lr; the ranking then spans that minibatch.
_base_ = [
    'mmdet::_base_/datasets/coco_detection.py',
    '../_base_/schedules/aploss_100e.py',
    '../_base_/models/retinanet_r50_caffe_fpn_aploss_512.py',
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline={{_base_.aploss_train_pipeline}}))
val_dataloader = dict(dataset=dict(pipeline={{_base_.aploss_test_pipeline}}))
test_dataloader = val_dataloader
default_hooks = dict(checkpoint=dict(save_best='coco/bbox_mAP'))
