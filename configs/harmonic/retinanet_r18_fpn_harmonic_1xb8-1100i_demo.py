# The embedded demo's RetinaNet-R18 (its baseline: configs/demo/retinanet_r18_fpn_focal_1xb8-1100i_demo.py)
# trained with the Harmonic loss: focal loss and L1 on deltas combined per positive anchor.
_base_ = '../demo/retinanet_r18_fpn_focal_1xb8-1100i_demo.py'

model = dict(bbox_head=dict(type='HarmonicRetinaHead'))
