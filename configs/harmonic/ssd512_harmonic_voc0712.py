# SSD512 on VOC07+12 trained with the Harmonic loss (softmax cross-entropy and smooth L1 combined
# per positive anchor, hard-negative mining kept); baseline: ssd512_voc0712.py.
_base_ = './ssd512_voc0712.py'

model = dict(bbox_head=dict(type='HarmonicSSDHead'))
