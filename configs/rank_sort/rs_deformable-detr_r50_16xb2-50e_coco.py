# Rank & Sort in Deformable DETR: mmdet's Deformable DETR R50 50 epochs with
# ValueBalancedDeformableDETRHead, as the bucketed ranking-based losses paper (Yavuz et al., ECCV
# 2024) trains Co-Deformable-DETR with Rank & Sort: every decoder layer's classification loss is Rank &
# Sort over the matched queries of all images and processes, each positive sorted by the IoU of its
# box; L1 and GIoU keep their weights' ratio and are balanced against it by value. The Hungarian
# matching cost is Deformable DETR's (focal). Otherwise mmdet's Deformable DETR (16 GPUs x 2 images).
_base_ = 'mmdet::deformable_detr/deformable-detr_r50_16xb2-50e_coco.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(bbox_head=dict(
    type='ValueBalancedDeformableDETRHead',
    loss_cls=dict(_delete_=True, type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0)))
