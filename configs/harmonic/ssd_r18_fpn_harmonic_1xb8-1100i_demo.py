# HarmonicSSDHead on the embedded demo data: the demo's ResNet-18 and 3-level FPN (128 px) with the
# anchors of configs/demo/ssd_r18_fpn_aploss_1xb8-1100i_demo.py, softmax cross-entropy with
# hard-negative mining, and the Harmonic loss on the positives. A CPU-sized stand-in for
# ssd_vgg16_harmonic*_8xb8-240e_voc0712-*.py.
_base_ = '../demo/ssd_r18_fpn_aploss_1xb8-1100i_demo.py'

model = dict(
    bbox_head=dict(type='HarmonicSSDHead',
                   loss_cls=dict(_delete_=True, type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(neg_pos_ratio=3))
