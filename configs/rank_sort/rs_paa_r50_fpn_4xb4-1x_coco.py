# RS-PAA R50 1x on COCO (Oksuz et al., "Rank & Sort Loss for Object Detection and Instance
# Segmentation", ICCV 2021, table 5; 41.0 AP on minival in the authors' README) with the authors'
# settings (their configs/ranksort_loss/ranksort_paa_r50_fpn_1x_coco.py, mmdet 2): mmdet's PAA R50 1x,
# except
# - the head: PAA's anchor assignment (candidates scored by focal loss + GIoU, split by a Gaussian
#   mixture), then no IoU branch, Rank & Sort loss over every (anchor, class) entry of the
#   minibatch with IoU sorting targets, GIoU box loss weighted by each positive's top class score,
#   the value-based balance of the two (ValueBalancedPAAHead); GIoU of weight 1 in the assignment's
#   score (PAA: 1.3);
# - anchors: 3 scales per location (octave_base_scale 4, scales_per_octave 3, ratio 1) instead of
#   PAA's one (8, 1);
# - 16 images per step as 4 GPUs x 4 images, lr 0.008 (PAA: 8 x 2, lr 0.01).
# The assigner and the test settings are PAA's (nms_pre 1000, score_thr 0.05, NMS IoU 0.6, 100
# boxes, score voting), as the authors'.
_base_ = 'mmdet::paa/paa_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(bbox_head=dict(
    _delete_=True,
    type='ValueBalancedPAAHead',
    score_voting=True,
    topk=9,
    num_classes=80,
    in_channels=256,
    stacked_convs=4,
    feat_channels=256,
    anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=4, scales_per_octave=3,
                          strides=[8, 16, 32, 64, 128]),
    bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0], target_stds=[0.1, 0.1, 0.2, 0.2]),
    assigner_loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
    loss_cls=dict(type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0),
    loss_bbox=dict(type='GIoULoss', loss_weight=1.0)))

train_dataloader = dict(batch_size=4, num_workers=4)
optim_wrapper = dict(optimizer=dict(lr=0.008))
auto_scale_lr = dict(enable=False, base_batch_size=16)
