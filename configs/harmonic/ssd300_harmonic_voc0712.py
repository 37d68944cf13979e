# SSD300 on VOC07+12 trained with the Harmonic loss (softmax cross-entropy and smooth L1 combined
# per positive anchor, hard-negative mining kept); baseline: ssd300_voc0712.py.
_base_ = './ssd300_voc0712.py'

model = dict(bbox_head=dict(type='HarmonicSSDHead'))
