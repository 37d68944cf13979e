# GFL R50-FPN 1x on COCO with Rank & Sort loss (Oksuz et al., "Rank & Sort Loss for Object Detection
# and Instance Segmentation", ICCV 2021; delta 0.5) as loss_cls in place of quality focal loss: the
# stock GFLHead passes (labels, IoU quality), so the positives are sorted by their IoU, and all FPN
# levels and images of a step form one ranking. Everything else is mmdet's config.
_base_ = 'mmdet::gfl/gfl_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(bbox_head=dict(
    loss_cls=dict(_delete_=True, type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0)))
