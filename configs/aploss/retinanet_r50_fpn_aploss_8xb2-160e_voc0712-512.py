# RetinaNet R50-FPN trained with AP-Loss, the official recipe on PASCAL VOC07+12 trainval (see
# ../_base_/models/retinanet_r50_caffe_fpn_aploss_512.py), evaluated on VOC07 test with the VOC07
# 11-point metric as officially; 160 epochs, lr 0.001 per 16 images (8 GPUs x 2, one ranking).
_base_ = [
    'mmdet::_base_/datasets/voc0712.py',
    '../_base_/schedules/aploss_160e.py',
    '../_base_/models/retinanet_r50_caffe_fpn_aploss_512.py',
]
model = dict(bbox_head=dict(num_classes=20))
# mmdet's VOC base repeats the training set 3 times per epoch; the paper's epochs are real epochs.
# Its bbox_min_size=32 turns every ground-truth box narrower or lower than 32 px into an ignored
# box; the official loader keeps every non-difficult box (difficult ones are dropped, as mmdet's
# ignore flag does here), so no minimum box size. (A list in a config replaces the base's list, so
# both trainval sets are written out in full.)
voc_trainval = dict(type='VOCDataset', data_root={{_base_.data_root}}, pipeline={{_base_.aploss_train_pipeline}},
                    filter_cfg=dict(filter_empty_gt=True, min_size=32, bbox_min_size=None),
                    backend_args={{_base_.backend_args}})
train_dataloader = dict(batch_size=2, dataset=dict(times=1, dataset=dict(datasets=[
    dict(voc_trainval, ann_file='VOC2007/ImageSets/Main/trainval.txt',
         data_prefix=dict(sub_data_root='VOC2007/')),
    dict(voc_trainval, ann_file='VOC2012/ImageSets/Main/trainval.txt',
         data_prefix=dict(sub_data_root='VOC2012/')),
])))
val_dataloader = dict(dataset=dict(pipeline={{_base_.aploss_test_pipeline}}))
test_dataloader = val_dataloader
default_hooks = dict(checkpoint=dict(save_best='pascal_voc/mAP'))
