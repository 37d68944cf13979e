# RS-DINO on the embedded demo data: dino_r18_1xb8-1100i_demo.py with ValueBalancedDINOHead (Rank & Sort
# in every decoder layer, on the encoder proposals and on the denoising queries, L1 and GIoU balanced by
# value); the matching cost stays focal.
_base_ = './dino_r18_1xb8-1100i_demo.py'

model = dict(bbox_head=dict(
    type='ValueBalancedDINOHead',
    loss_cls=dict(_delete_=True, type='RankSortLoss', use_sigmoid=True, delta=0.5, loss_weight=1.0)))
