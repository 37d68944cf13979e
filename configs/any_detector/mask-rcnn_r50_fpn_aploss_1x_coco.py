# Mask R-CNN R50-FPN 1x on COCO with AP-Loss (Chen et al., "Towards Accurate One-Stage Object
# Detection with AP-Loss", CVPR 2019) as loss_cls of both the RPN (in place of binary cross-entropy;
# all levels and images of a step are one ranking) and the RoI box head (in place of softmax
# cross-entropy; C sigmoid scores, no background channel). Everything else, the mask head included,
# is mmdet's config.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(
    rpn_head=dict(
        loss_cls=dict(_delete_=True, type='APLoss', use_sigmoid=True, delta=1.0, loss_weight=1.0)),
    roi_head=dict(bbox_head=dict(
        loss_cls=dict(_delete_=True, type='APLoss', use_sigmoid=True, delta=1.0, loss_weight=1.0))))
