# Rank & Sort in DINO: mmdet's DINO 4-scale R50 12 epochs with ValueBalancedDINOHead, as the bucketed
# ranking-based losses paper (Yavuz et al., ECCV 2024) trains Co-Deformable-DETR with Rank & Sort
# (49.3 -> 50.1 AP for R50 12 epochs in their README; they report no DINO): every decoder layer's,
# the encoder proposals' and the denoising queries' classification loss is Rank & Sort over the
# matched queries of all images and processes, each positive sorted by the IoU of its box; L1 and
# GIoU keep their weights' ratio (5 : 2) and are balanced against it by value. The Hungarian
# matching cost is DINO's (focal). Otherwise mmdet's DINO (8 GPUs x 2 images, lr 1e-4).
_base_ = 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(bbox_head=dict(
    type='ValueBalancedDINOHead',
    loss_cls=dict(_delete_=True, type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0)))
