# ssd_voc0712.py at 512 x 512 (mmdet's pascal_voc/ssd512_voc0712.py). The size is in lists, which
# inheritance replaces whole: these are the base's lists with their Resize step replaced.
_base_ = './ssd_voc0712.py'

__resize = dict(type='Resize', scale=(512, 512), keep_ratio=False)  # __: no config key of its own
train_pipeline = [__resize if step.type == 'Resize' else step for step in _base_.train_pipeline]
test_pipeline = [__resize if step.type == 'Resize' else step for step in _base_.test_pipeline]
train_dataloader = dict(dataset=dict(dataset=dict(datasets=[
    dict(voc, pipeline=train_pipeline) for voc in _base_.train_dataloader.dataset.dataset.datasets])))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
