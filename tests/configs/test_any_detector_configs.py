"""configs/any_detector/: mmdet's own configs with a ranking loss as loss_cls. Each one, adapted to
the embedded demo data (4 classes, 128 px images, no pretrained weights: nothing downloads) but with
its head and losses as written, builds and trains one step: finite losses, one classification loss
per head, gradients in the classification branch, a changed classifier; the two-stage detectors
then predict C sigmoid scores."""
import importlib.util
import json
import math
import warnings
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # trains ten detectors, one step each

pytest.importorskip('mmdet', reason='the configs need mmdet')

import torch  # noqa: E402
from mmdet.registry import DATASETS, MODELS  # noqa: E402
from mmdet.utils import register_all_modules  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.dataset import pseudo_collate  # noqa: E402
from mmengine.model import revert_sync_batchnorm  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402

import mmdet_losses  # noqa: E402,F401  (registers the losses and the ranking heads)

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / 'configs' / 'any_detector'
IMAGE_SIZE = (128, 128)
LABELS_ONLY = 'passes labels without a quality to RankSortLoss'

# Each config: its ranking loss, its classification loss entries with the classifier each trains,
# and how many of its heads pass RankSortLoss labels without a quality (each warns once).
CASES = {
    'retinanet_r50_fpn_aploss_1x_coco.py': ('APLoss', {'loss_cls': 'bbox_head.retina_cls'}, 0),
    'atss_r50_fpn_aploss_1x_coco.py': ('APLoss', {'loss_cls': 'bbox_head.atss_cls'}, 0),
    'atss_r50_fpn_ranksort_1x_coco.py': ('RankSortLoss', {'loss_cls': 'bbox_head.atss_cls'}, 1),
    'fcos_r50-caffe_fpn_gn-head_aploss_1x_coco.py': ('APLoss', {'loss_cls': 'bbox_head.conv_cls'}, 0),
    'gfl_r50_fpn_ranksort_1x_coco.py': ('RankSortLoss', {'loss_cls': 'bbox_head.gfl_cls'}, 0),
    'gfl_r50_fpn_aploss_1x_coco.py': ('APLoss', {'loss_cls': 'bbox_head.gfl_cls'}, 0),
    'rtmdet_tiny_ranksort_8xb32-300e_coco.py': ('RankSortLoss', {'loss_cls': 'bbox_head.rtm_cls'}, 0),
    'faster-rcnn_r50_fpn_aploss_1x_coco.py':
        ('APLoss', {'loss_rpn_cls': 'rpn_head.rpn_cls', 'loss_cls': 'roi_head.bbox_head.fc_cls'}, 0),
    'faster-rcnn_r50_fpn_ranksort_1x_coco.py':
        ('RankSortLoss', {'loss_rpn_cls': 'rpn_head.rpn_cls', 'loss_cls': 'roi_head.bbox_head.fc_cls'}, 2),
    'mask-rcnn_r50_fpn_aploss_1x_coco.py':
        ('APLoss', {'loss_rpn_cls': 'rpn_head.rpn_cls', 'loss_cls': 'roi_head.bbox_head.fc_cls'}, 0),
}


# The Rank & Sort and aLRP papers' detectors, with their own heads (configs/rank_sort/, configs/alrp/), trained
# the same way.
RANK_SORT_CASES = {
    '../rank_sort/rs_faster-rcnn_r50_fpn_4xb4-1x_coco.py':
        ('RankSortLoss', {'loss_rpn_rank': 'rpn_head.rpn_cls', 'loss_rank': 'roi_head.bbox_head.fc_cls'}, 0),
    '../rank_sort/rs_mask-rcnn_r50_fpn_4xb4-1x_coco.py':
        ('RankSortLoss', {'loss_rpn_rank': 'rpn_head.rpn_cls', 'loss_rank': 'roi_head.bbox_head.fc_cls',
                          'loss_mask': 'roi_head.mask_head.conv_logits'}, 0),
    '../rank_sort/rs_cascade-rcnn_r50_fpn_4xb4-1x_coco.py':
        ('RankSortLoss', {'loss_rpn_rank': 'rpn_head.rpn_cls', 's0.loss_rank': 'roi_head.bbox_head.0.fc_cls',
                          's2.loss_rank': 'roi_head.bbox_head.2.fc_cls'}, 0),
    '../rank_sort/rs_paa_r50_fpn_4xb4-1x_coco.py': ('RankSortLoss', {'loss_rank': 'bbox_head.atss_cls'}, 0),
    '../rank_sort/rs_dino-4scale_r50_8xb2-12e_coco.py':
        ('RankSortLoss', {'loss_cls': 'bbox_head.cls_branches.5', 'loss_iou': 'bbox_head.reg_branches.5',
                          'dn_loss_cls': 'bbox_head.cls_branches.5', 'enc_loss_cls': 'bbox_head.cls_branches.6'}, 0),
    '../rank_sort/rs_deformable-detr_r50_16xb2-50e_coco.py':
        ('RankSortLoss', {'loss_cls': 'bbox_head.cls_branches.0', 'loss_bbox': 'bbox_head.reg_branches.0'}, 0),
    '../rank_sort/rs_solov2_r101_fpn_4xb4-ms-3x_coco.py':
        ('RankSortLoss', {'loss_rank': 'mask_head.conv_cls', 'loss_mask': 'mask_head.conv_kernel'}, 0),
    '../rank_sort/rs_solov2-light_r34_fpn_4xb8-ms-3x_coco.py':
        ('RankSortLoss', {'loss_rank': 'mask_head.conv_cls', 'loss_mask': 'mask_head.conv_kernel'}, 0),
    '../rank_sort/rs_yolact_r50_1xb8-55e_coco.py':
        ('RankSortLoss', {'loss_rank': 'bbox_head.conv_cls', 'loss_bbox': 'bbox_head.conv_reg',
                          'loss_mask': 'mask_head.protonet'}, 0),
    '../alrp/retinanet_r50_fpn_alrp_4xb8-100e_coco-512.py':
        ('ALRPLoss', {'loss_cls': 'bbox_head.retina_cls', 'loss_bbox': 'bbox_head.retina_reg'}, 0),
    '../alrp/retinanet_r50_fpn_alrp-atss_4xb8-100e_coco-512.py':
        ('ALRPLoss', {'loss_cls': 'bbox_head.atss_cls', 'loss_bbox': 'bbox_head.atss_reg'}, 0),
    '../alrp/fovea_r50_fpn_alrp_4xb8-100e_coco-512.py':
        ('ALRPLoss', {'loss_cls': 'bbox_head.conv_cls', 'loss_bbox': 'bbox_head.conv_reg'}, 0),
    '../alrp/faster-rcnn_r50_fpn_alrp_4xb8-100e_coco-512.py':
        ('ALRPLoss', {'loss_rpn_cls': 'rpn_head.rpn_cls', 'loss_rpn_bbox': 'rpn_head.rpn_reg',
                      'loss_cls': 'roi_head.bbox_head.fc_cls', 'loss_bbox': 'roi_head.bbox_head.fc_reg'}, 0),
}


def test_every_config_is_tested():
    assert sorted(CASES) == sorted(p.name for p in CONFIGS.glob('*.py'))


@pytest.fixture(scope='module')
def demo_data(tmp_path_factory):
    """The embedded demo dataset (tools/make_demo_data.py): 4 training images of 128 px. It has no
    masks, so each object's box polygon is written in as its segmentation (for Mask R-CNN)."""
    spec = importlib.util.spec_from_file_location('make_demo_data', ROOT / 'tools' / 'make_demo_data.py')
    make_demo_data = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_demo_data)
    root = tmp_path_factory.mktemp('data') / 'demo'
    make_demo_data.main(['--out', str(root), '--train', '4', '--val', '1', '--size', str(IMAGE_SIZE[0])])
    annotations = root / 'annotations' / 'instances_train.json'
    coco = json.loads(annotations.read_text())
    for ann in coco['annotations']:
        x, y, w, h = ann['bbox']
        ann['segmentation'] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    annotations.write_text(json.dumps(coco))
    return root, make_demo_data.CLASSES


def demo_config(name, data_root, classes):
    """The config as written, for the demo data as the project's demo configs read it: its classes,
    its images at 128 px, and a small backbone without pretrained weights."""
    cfg = Config.fromfile(CONFIGS / name)
    model = cfg.model
    model.backbone.init_cfg = None
    if model.backbone.type == 'ResNet':
        # ResNet-18 for ResNet-50 (and its channels into the FPN), to keep the step short on a CPU.
        model.backbone.depth = 18
        model.neck.in_channels = [[64, 128, 256, 512][i] for i in model.backbone.get('out_indices', (0, 1, 2, 3))]
    roi_box_heads = model.get('roi_head', {}).get('bbox_head', [])
    for head in [model.get('bbox_head'), model.get('mask_head'), model.get('roi_head', {}).get('mask_head')] + (
            roi_box_heads if isinstance(roi_box_heads, list) else [roi_box_heads]):
        if head is not None:
            head.num_classes = len(classes)
    if model.get('num_queries', 0) > 100:
        model.num_queries = 100  # DINO selects its queries among the encoder's tokens: 340 at 128 px
    with_mask = 'mask_head' in model or 'mask_head' in model.get('roi_head', {})
    cfg.train_dataloader.dataset.update(
        type='CocoDataset', data_root=str(data_root), metainfo=dict(classes=classes),
        ann_file='annotations/instances_train.json', data_prefix=dict(img='VOCdemo/JPEGImages/'),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations', with_bbox=True, with_mask=with_mask),
                  dict(type='Resize', scale=IMAGE_SIZE, keep_ratio=True),
                  dict(type='PackDetInputs')])
    return cfg


def grad_norm(module):
    return sum(float(p.grad.abs().sum()) for p in module.parameters() if p.grad is not None)


@pytest.mark.parametrize('name', sorted(CASES) + sorted(RANK_SORT_CASES))
def test_builds_and_trains_one_step(name, demo_data):
    loss_type, classifiers, labels_only_heads = {**CASES, **RANK_SORT_CASES}[name]
    data_root, classes = demo_data
    register_all_modules()
    cfg = demo_config(name, data_root, classes)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        model = MODELS.build(cfg.model)
    assert sum(LABELS_ONLY in str(w.message) for w in caught) == labels_only_heads
    # SyncBN (RTMDet) becomes BN outside distributed training, as mmengine's Runner does it.
    model = revert_sync_batchnorm(model)
    model.init_weights()
    for path in classifiers.values():
        head = model.get_submodule(path.rsplit('.', 1)[0])
        assert not hasattr(head, 'loss_cls') or type(head.loss_cls).__name__ == loss_type  # a mask head has none
    if 'roi_head' in cfg.model:
        # C sigmoid scores, no background channel (in every stage of a cascade).
        box_heads = model.roi_head.bbox_head
        for box_head in box_heads if isinstance(box_heads, torch.nn.ModuleList) else [box_heads]:
            assert box_head.fc_cls.out_features == len(classes)

    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = pseudo_collate([dataset[0], dataset[1]])
    model.train()
    losses = model(**model.data_preprocessor(batch, training=True), mode='loss')
    for key in classifiers:
        # One ranking per head: a single tensor, not mmdet's per-level list.
        assert isinstance(losses[key], torch.Tensor) and losses[key].dim() == 0, (key, losses[key])
    loss, log_vars = model.parse_losses(losses)
    assert all(math.isfinite(float(value.detach())) for value in log_vars.values()), log_vars

    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    optim_wrapper.backward(loss)
    before = {}
    for key, path in classifiers.items():
        classifier = model.get_submodule(path)
        assert grad_norm(classifier) > 0, f'{key}: no gradient reached {path}'
        before[path] = [p.detach().clone() for p in classifier.parameters()]
    optim_wrapper.step()
    for path, params in before.items():
        assert any(not torch.equal(old, new) for old, new in zip(params, model.get_submodule(path).parameters()))

    if 'roi_head' in cfg.model:
        model.eval()
        with torch.no_grad():
            [result] = model(**model.data_preprocessor(pseudo_collate([dataset[2]]), training=False),
                             mode='predict')
        scores, labels = result.pred_instances.scores, result.pred_instances.labels
        assert len(scores) > 0
        assert ((scores >= 0) & (scores <= 1)).all() and ((labels >= 0) & (labels < len(classes))).all()
        if 'mask_head' in cfg.model.roi_head:
            assert len(result.pred_instances.masks) == len(scores)
