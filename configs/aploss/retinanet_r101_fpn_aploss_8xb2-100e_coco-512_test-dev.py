# Writes the COCO test-dev detections of a retinanet_r101_fpn_aploss_8xb2-100e_coco-512.py model as
# the json the evaluation server takes (no local metric: test-dev has no public annotations):
#   tools/dist_test.sh THIS_CONFIG CHECKPOINT 8
# -> work_dirs/retinanet_r101_fpn_aploss_coco_test-dev/results.bbox.json
_base_ = './retinanet_r101_fpn_aploss_8xb2-100e_coco-512.py'
test_dataloader = dict(dataset=dict(
    ann_file='annotations/image_info_test-dev2017.json', data_prefix=dict(img='test2017/'), test_mode=True))
test_evaluator = dict(type='CocoMetric', metric='bbox', format_only=True,
                      ann_file='data/coco/annotations/image_info_test-dev2017.json',
                      outfile_prefix='./work_dirs/retinanet_r101_fpn_aploss_coco_test-dev/results')
