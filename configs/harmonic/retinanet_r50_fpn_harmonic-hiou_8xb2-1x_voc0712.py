# retinanet_r50_fpn_harmonic_8xb2-1x_voc0712.py with the Harmonic IoU loss on decoded boxes (gamma 0.8,
# weight 2) in place of L1 on deltas.
_base_ = './retinanet_r50_fpn_harmonic_8xb2-1x_voc0712.py'

model = dict(bbox_head=dict(
    reg_decoded_bbox=True,
    loss_bbox=dict(_delete_=True, type='HarmonicIoULoss', gamma=0.8, loss_weight=2.0)))
