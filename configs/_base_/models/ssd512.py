# mmdet's SSD300 model (_base_/models/ssd300.py) for 512 x 512 images, as its ssd/ssd512_coco.py
# and pascal_voc/ssd512_voc0712.py make it: one more extra level (stride 512) and its anchors.
_base_ = 'mmdet::_base_/models/ssd300.py'

input_size = 512
model = dict(
    neck=dict(out_channels=(512, 1024, 512, 256, 256, 256, 256), level_strides=(2, 2, 2, 2, 1),
              level_paddings=(1, 1, 1, 1, 1), last_kernel_size=4),
    bbox_head=dict(
        in_channels=(512, 1024, 512, 256, 256, 256, 256),
        anchor_generator=dict(input_size=input_size, strides=[8, 16, 32, 64, 128, 256, 512],
                              ratios=[[2], [2, 3], [2, 3], [2, 3], [2, 3], [2], [2]])))
