# The AP-Loss paper's PASCAL VOC07+12 schedule: as aploss_100e.py, over 160 epochs with the
# learning rate divided by 10 after epochs 110 and 140.
_base_ = './aploss_100e.py'
max_epochs = 160
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=max_epochs, milestones=[110, 140], gamma=0.1),
]
