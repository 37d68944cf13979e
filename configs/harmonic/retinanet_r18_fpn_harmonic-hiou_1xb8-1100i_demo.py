# retinanet_r18_fpn_harmonic_1xb8-1100i_demo.py with the Harmonic IoU loss on decoded boxes (gamma 0.8,
# weight 2).
_base_ = './retinanet_r18_fpn_harmonic_1xb8-1100i_demo.py'

model = dict(bbox_head=dict(
    reg_decoded_bbox=True,
    loss_bbox=dict(_delete_=True, type='HarmonicIoULoss', gamma=0.8, loss_weight=2.0)))
