# The baseline of ssd_vgg16_harmonic*_8xb8-240e_voc0712-512.py: mmdet's pascal_voc/ssd512_voc0712.py
# (8 GPUs x 8 images; 24 epochs over VOC07+12 repeated 10 times, i.e. 240 passes over the data)
# with ConfigurableSSDHead, which has SSDHead's loss and, unlike SSDHead in mmdet 3.3.0, can predict
# (open-mmlab/mmdetection#11063).
_base_ = 'mmdet::pascal_voc/ssd512_voc0712.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(bbox_head=dict(type='ConfigurableSSDHead'))
