# The AP-Loss paper's COCO schedule (Chen et al., CVPR 2019, section 4.1): SGD, lr 0.001 per 16
# images, momentum 0.9, weight decay 1e-4, 500 warm-up iterations from lr / 3, 100 epochs with the
# learning rate divided by 10 after epochs 60 and 80.
max_epochs = 100
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.001, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=max_epochs, milestones=[60, 80], gamma=0.1),
]
# lr 0.001 is for 16 images per iteration; --auto-scale-lr scales it to the actual batch.
auto_scale_lr = dict(enable=False, base_batch_size=16)
