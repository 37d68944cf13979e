# retinanet_r50_fpn_harmonic_8xb2-1x_coco.py with the Harmonic IoU loss on decoded boxes (gamma 0.8) in
# place of L1 on deltas. Weight 2, the weight mmdet's ATSS and GFL configs give GIoU.
_base_ = './retinanet_r50_fpn_harmonic_8xb2-1x_coco.py'

model = dict(bbox_head=dict(
    reg_decoded_bbox=True,
    loss_bbox=dict(_delete_=True, type='HarmonicIoULoss', gamma=0.8, loss_weight=2.0)))
