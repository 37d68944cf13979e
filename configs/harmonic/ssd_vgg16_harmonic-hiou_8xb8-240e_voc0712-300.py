# ssd_vgg16_harmonic_8xb8-240e_voc0712-300.py with the Harmonic IoU loss on decoded boxes (gamma 0.8,
# weight 2) in place of smooth L1 on deltas.
_base_ = './ssd_vgg16_harmonic_8xb8-240e_voc0712-300.py'

model = dict(bbox_head=dict(
    reg_decoded_bbox=True,
    loss_bbox=dict(type='HarmonicIoULoss', gamma=0.8, loss_weight=2.0)))
