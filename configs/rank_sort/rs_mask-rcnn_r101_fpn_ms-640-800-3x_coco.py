# RS-Mask R-CNN R101 3x with multi-scale training on COCO (Oksuz et al., "Rank & Sort Loss for Object
# Detection and Instance Segmentation", ICCV 2021, sec. 5; 44.7 box AP / 40.3 mask AP on minival in
# the authors' README) with the authors' settings (their
# configs/ranksort_loss/ranksort_mask_rcnn_r101_fpn_mstrain_3x_coco.py, mmdet 2): the R50 1x
# RS-Mask R-CNN (rs_mask-rcnn_r50_fpn_4xb4-1x_coco.py) with
# - ResNet-101 from torchvision's ImageNet weights;
# - 36 epochs, the learning rate divided by 10 after epochs 27 and 33, 500 iterations of linear
#   warm-up from 0.001 (their lr_config);
# - training images resized to a shorter side of 640, 672, ..., 800 (one of six, at random, the longer
#   side at most 1333), flipped at random; test images at 1333 x 800 as in the 1x config.
_base_ = './rs_mask-rcnn_r50_fpn_4xb4-1x_coco.py'

model = dict(backbone=dict(depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomChoiceResize', scales=[(1333, side) for side in (640, 672, 704, 736, 768, 800)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

max_epochs = 36
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[27, 33], gamma=0.1),
]
