# Faster R-CNN R50-FPN 1x on COCO with Rank & Sort loss (Oksuz et al., "Rank & Sort Loss for Object
# Detection and Instance Segmentation", ICCV 2021; delta 0.5) as loss_cls of the RPN and the RoI box
# head (C sigmoid scores, no background channel): a plain loss swap. Both heads pass labels without a
# quality, so the sorting part is 0 (a warning says so) and only the ranking part trains; everything
# else is mmdet's config.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(
    rpn_head=dict(
        loss_cls=dict(_delete_=True, type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0)),
    roi_head=dict(bbox_head=dict(
        loss_cls=dict(_delete_=True, type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0))))
