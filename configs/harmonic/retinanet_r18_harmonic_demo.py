# The embedded demo's RetinaNet-R18 (configs/demo/retinanet_r18_focal_demo.py, its baseline) trained
# with the Harmonic loss: focal loss and L1 on deltas combined per positive anchor.
_base_ = '../demo/retinanet_r18_focal_demo.py'

model = dict(bbox_head=dict(type='HarmonicRetinaHead'))
