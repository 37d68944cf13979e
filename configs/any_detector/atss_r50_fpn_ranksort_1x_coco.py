# ATSS R50-FPN 1x on COCO with Rank & Sort loss (Oksuz et al., "Rank & Sort Loss for Object Detection
# and Instance Segmentation", ICCV 2021; delta 0.5) as loss_cls in place of focal loss: a plain loss
# swap. The stock ATSSHead passes labels without a quality, so the sorting part is 0 (a warning says
# so) and only the ranking part trains; everything else is mmdet's config. The authors' RS-ATSS is
# configs/rank_sort/rs_atss_r50_fpn_4xb4-1x_coco.py.
_base_ = 'mmdet::atss/atss_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(bbox_head=dict(
    loss_cls=dict(_delete_=True, type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0)))
