# SigmoidSSDHead on the embedded demo data: the demo's ResNet-18 and 3-level FPN (128 px) feeding an
# SSD head with sigmoid class scores, trained with AP-Loss over the whole minibatch. A small,
# CPU-sized stand-in for configs/aploss/ssd_vgg16_aploss_*.py (whose VGG SSD needs a GPU).
_base_ = './retinanet_r18_fpn_aploss_1xb8-1100i_demo.py'

model = dict(bbox_head=dict(
    _delete_=True, type='SigmoidSSDHead', num_classes=4, in_channels=(64, 64, 64),
    anchor_generator=dict(type='SSDAnchorGenerator', scale_major=False, input_size=128,
                          strides=[8, 16, 32], ratios=([2], [2, 3], [2]),
                          min_sizes=[14, 36, 72], max_sizes=[36, 72, 120]),
    bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[0.1, 0.1, 0.2, 0.2]),
    loss_cls=dict(type='APLoss', use_sigmoid=True, delta=1.0, loss_weight=1.0),
    loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0)),
    train_cfg=dict(_delete_=True,
                   assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.0,
                                 ignore_iof_thr=-1, gt_max_assign_all=False),
                   sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1, debug=False),
    test_cfg=dict(_delete_=True, nms_pre=1000, nms=dict(type='nms', iou_threshold=0.45), min_bbox_size=0,
                  score_thr=0.0, max_per_img=20))
