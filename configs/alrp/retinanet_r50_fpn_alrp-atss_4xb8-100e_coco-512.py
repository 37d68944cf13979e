# aLRP Loss with ATSS's assignment, RetinaNet R50 on COCO (Oksuz et al., NeurIPS 2020; 41.0 AP on
# minival, 41.3 on test-dev in the authors' README) with the authors' settings (kemaloksuz/aLRPLoss,
# configs/alrp_loss/alrp_loss_retinanet_r50_fpn_ATSS_100e_coco500.py): the aLRP RetinaNet of
# retinanet_r50_fpn_alrp_4xb8-100e_coco-512.py (data, 4 GPUs x 8 images, lr 0.008, 100 epochs), except
# - the assignment: ATSSAssigner with topk 9, on ALRPATSSHead (ATSSHead without centerness: mmdet 3's
#   RetinaHead cannot call ATSSAssigner), without group normalisation as their RetinaNet head; ATSS's
#   learnable scale of each level's box deltas is kept (1 at the start);
# - anchors: one ratio (1.0) and 2 scales per octave, 2 per location (their anchor_generator);
# - lr / 10 after epochs 75 and 95 (their lr_config step=[75, 95]).
_base_ = './retinanet_r50_fpn_alrp_4xb8-100e_coco-512.py'

model = dict(
    bbox_head=dict(type='ALRPATSSHead', norm_cfg=None, anchor_generator=dict(ratios=[1.0])),
    train_cfg=dict(assigner=dict(_delete_=True, type='ATSSAssigner', topk=9)))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=100, by_epoch=True, milestones=[75, 95], gamma=0.1),
]
