# DINO on the embedded demo data, the baseline of rs_dino_r18_1xb8-1100i_demo.py: a DINO small enough for
# a CPU (the demo's half-width ResNet-18 from scratch, 3 feature levels of 256 channels, 2 encoder and
# 2 decoder layers, 100 queries, 20 denoising queries) with mmdet's DINO head (focal loss 1, L1 5,
# GIoU 2; focal matching cost), on the demo's data and 1100 iterations of 8 images at 128 px; AdamW lr
# 4e-4 with gradients clipped at 0.1 as DINO's.
_base_ = '../demo/retinanet_r18_fpn_aploss_1xb8-1100i_demo.py'

embed_dims = 256  # mmdet's DINO decoder encodes reference points in 4 x 128 channels: 256 is its only width
model = dict(
    _delete_=True,
    _scope_='mmdet',  # what the replaced model had from its mmdet:: base: its parts are mmdet's
    type='DINO',
    num_queries=100,
    with_box_refine=True,
    as_two_stage=True,
    num_feature_levels=3,
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           bgr_to_rgb=True, pad_size_divisor=32),
    backbone=dict(type='ResNet', depth=18, base_channels=32, num_stages=4, out_indices=(1, 2, 3),
                  frozen_stages=-1, norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False,
                  style='pytorch', init_cfg=None),
    neck=dict(type='ChannelMapper', in_channels=[64, 128, 256], kernel_size=1, out_channels=embed_dims,
              act_cfg=None, norm_cfg=dict(type='GN', num_groups=32), num_outs=3),
    encoder=dict(num_layers=2, layer_cfg=dict(
        self_attn_cfg=dict(embed_dims=embed_dims, num_levels=3, num_heads=8, dropout=0.0),
        ffn_cfg=dict(embed_dims=embed_dims, feedforward_channels=512, ffn_drop=0.0))),
    decoder=dict(num_layers=2, return_intermediate=True, layer_cfg=dict(
        self_attn_cfg=dict(embed_dims=embed_dims, num_heads=8, dropout=0.0),
        cross_attn_cfg=dict(embed_dims=embed_dims, num_levels=3, num_heads=8, dropout=0.0),
        ffn_cfg=dict(embed_dims=embed_dims, feedforward_channels=512, ffn_drop=0.0)),
        post_norm_cfg=None),
    positional_encoding=dict(num_feats=embed_dims // 2, normalize=True, offset=0.0, temperature=20),
    bbox_head=dict(type='DINOHead', num_classes=4, embed_dims=embed_dims, sync_cls_avg_factor=True,
                   loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
                   loss_bbox=dict(type='L1Loss', loss_weight=5.0),
                   loss_iou=dict(type='GIoULoss', loss_weight=2.0)),
    dn_cfg=dict(label_noise_scale=0.5, box_noise_scale=1.0,
                group_cfg=dict(dynamic=True, num_groups=None, num_dn_queries=20)),
    train_cfg=dict(assigner=dict(type='HungarianAssigner', match_costs=[
        dict(type='FocalLossCost', weight=2.0), dict(type='BBoxL1Cost', weight=5.0, box_format='xywh'),
        dict(type='IoUCost', iou_mode='giou', weight=2.0)])),
    test_cfg=dict(max_per_img=20))

optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=dict(type='AdamW', lr=4e-4, weight_decay=1e-4),
                     clip_grad=dict(max_norm=0.1, norm_type=2))
