# The embedded demo's RetinaNet-R18 (configs/demo/retinanet_r18_focal_demo.py, its baseline) with
# UniLoss of detection AP over the whole minibatch in place of focal loss.
_base_ = '../demo/retinanet_r18_focal_demo.py'

model = dict(bbox_head=dict(
    type='APLossRetinaHead',
    loss_cls=dict(_delete_=True, type='UniLoss', use_sigmoid=True, num_anchors=16, max_positives=64,
                  max_negatives=256, loss_weight=1.0)))
