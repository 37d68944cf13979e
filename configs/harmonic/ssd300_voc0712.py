# The baseline of ssd300_harmonic*_voc0712.py: mmdet's pascal_voc/ssd300_voc0712.py with
# ConfigurableSSDHead, which has SSDHead's loss and, unlike SSDHead in mmdet 3.3.0, can predict
# (open-mmlab/mmdetection#11063).
_base_ = 'mmdet::pascal_voc/ssd300_voc0712.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)

model = dict(bbox_head=dict(type='ConfigurableSSDHead'))
