# RS-Cascade R-CNN: Cascade R-CNN R50 1x on COCO (Oksuz et al., "Rank & Sort Loss for Object Detection
# and Instance Segmentation", ICCV 2021, sec. 5; 41.3 AP on minival in the authors' README) with the
# authors' settings (their configs/ranksort_loss/ranksort_cascade_rcnn_r50_fpn_1x_coco.py, mmdet 2):
# RS-R-CNN's RPN (rs_faster-rcnn_r50_fpn_4xb4-1x_coco.py) on mmdet's Cascade R-CNN R50 1x, and in each
# of the three stages RS-R-CNN's box head (ValueBalancedBBoxHead: Rank & Sort over every proposal with
# the ground truths added, IoU sorting targets, score-weighted GIoU, the value-based balance), with
# - the stages weighted 1, 1, 1 (mmdet's Cascade: 1, 0.5, 0.25), since each stage balances its own
#   box loss by value;
# - box deltas normalised by (0.1, 0.1, 0.2, 0.2) in every stage (mmdet's: halved and thirded in the
#   later stages), class-agnostic, as mmdet's;
# - 16 images per step as 4 GPUs x 4 images, lr 0.012; test score threshold 0.40.
_base_ = 'mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

rs_stage = dict(
    type='ValueBalancedBBoxHead',
    in_channels=256,
    fc_out_channels=1024,
    roi_feat_size=7,
    num_classes=80,
    bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[0.1, 0.1, 0.2, 0.2]),
    reg_class_agnostic=True,
    loss_cls=dict(type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0),
    loss_bbox=dict(type='GIoULoss', loss_weight=1.0))

model = dict(
    rpn_head=dict(
        type='ValueBalancedRPNHead',
        head_weight=0.2,
        bbox_coder=dict(target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=dict(_delete_=True, type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0),
        loss_bbox=dict(_delete_=True, type='GIoULoss', loss_weight=1.0)),
    roi_head=dict(stage_loss_weights=[1, 1, 1], bbox_head=[rs_stage, rs_stage, rs_stage]),
    train_cfg=dict(
        rpn=dict(sampler=dict(_delete_=True, type='PseudoSampler')),
        rcnn=[dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=threshold, neg_iou_thr=threshold,
                                 min_pos_iou=threshold, match_low_quality=False, ignore_iof_thr=-1),
                   sampler=dict(type='RandomSampler', num=int(1e10), pos_fraction=0.25, neg_pos_ub=-1,
                                add_gt_as_proposals=True),
                   pos_weight=-1, debug=False)
              for threshold in (0.5, 0.6, 0.7)]),
    test_cfg=dict(rcnn=dict(score_thr=0.40)))

train_dataloader = dict(batch_size=4, num_workers=4)
optim_wrapper = dict(optimizer=dict(lr=0.012))
auto_scale_lr = dict(enable=False, base_batch_size=16)
