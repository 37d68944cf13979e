# SSD300 on VOC07+12 trained with the Harmonic loss (softmax cross-entropy and smooth L1 combined
# per positive anchor, hard-negative mining kept); baseline: ssd_vgg16_8xb8-240e_voc0712-300.py.
_base_ = './ssd_vgg16_8xb8-240e_voc0712-300.py'

model = dict(bbox_head=dict(type='HarmonicSSDHead'))
