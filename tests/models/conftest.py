import importlib.util
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip('mmdet', reason='the mmdet modules need mmdet (the op tests do not)')

from mmdet.structures import DetDataSample  # noqa: E402
from mmengine.structures import InstanceData  # noqa: E402

# test_rank_sort.py's references (decode, iou_and_giou, anchor_by_anchor_reference,
# assert_same_gradients) serve the other heads' tests too: `import rank_sort_tests` there.
_spec = importlib.util.spec_from_file_location('rank_sort_tests', Path(__file__).parent / 'test_rank_sort.py')
sys.modules['rank_sort_tests'] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sys.modules['rank_sort_tests'])


@pytest.fixture
def retina_head_cfg():
    """A small RetinaNet head config (two FPN levels) with the given overrides."""
    def make(**overrides):
        cfg = dict(
            type='RetinaHead', num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1,
            anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=2,
                                  ratios=[0.5, 1.0], strides=[8, 16]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[1.0] * 4),
            loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0),
            train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                                         min_pos_iou=0, ignore_iof_thr=-1),
                           sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1,
                           debug=False))
        cfg.update(overrides)
        return cfg
    return make


@pytest.fixture
def ssd_head_cfg():
    """A small SSD head config (two levels, 64 px input) of the given type, with overrides."""
    from mmengine.config import ConfigDict

    def make(head_type, **overrides):
        cfg = dict(
            type=head_type, num_classes=3, in_channels=(8, 8),
            anchor_generator=dict(type='SSDAnchorGenerator', scale_major=False, input_size=64,
                                  strides=[8, 16], ratios=([2], [2]), min_sizes=[12, 32],
                                  max_sizes=[32, 60]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                                         min_pos_iou=0.0, ignore_iof_thr=-1, gt_max_assign_all=False),
                           sampler=dict(type='PseudoSampler'), smoothl1_beta=1.0, allowed_border=-1,
                           pos_weight=-1, neg_pos_ratio=3, debug=False),
            test_cfg=ConfigDict(nms_pre=100, nms=dict(type='nms', iou_threshold=0.45), min_bbox_size=0,
                                score_thr=0.0, max_per_img=20))
        cfg.update(overrides)
        return cfg
    return make


@pytest.fixture
def detection_batch():
    """(feats, data samples) for 64x64 images with the given (boxes, labels) per image."""
    def make(images, channels=8, seed=0):
        generator = torch.Generator().manual_seed(seed)
        feats = [torch.randn(len(images), channels, 8, 8, generator=generator),
                 torch.randn(len(images), channels, 4, 4, generator=generator)]
        samples = []
        for boxes, labels in images:
            sample = DetDataSample(metainfo=dict(img_shape=(64, 64), pad_shape=(64, 64),
                                                 scale_factor=(1.0, 1.0)))
            sample.gt_instances = InstanceData(bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                                               labels=torch.tensor(labels, dtype=torch.long))
            samples.append(sample)
        return feats, samples
    return make


@pytest.fixture
def one_ranking_reference():
    """AP-Loss of a head's scores over its whole minibatch, with the paper's targets built entry by
    entry from mmdet's own assignment, by the per-positive reference loop."""
    from mmdet_losses.functional import ap_loss_reference

    def compute(head, cls_scores, samples):
        metas = [s.metainfo for s in samples]
        anchors, valid = head.get_anchors([s.shape[-2:] for s in cls_scores], metas,
                                          device=cls_scores[0].device)
        labels, label_weights = head.get_targets(anchors, valid, [s.gt_instances for s in samples],
                                                 metas)[:2]
        classes = head.cls_out_channels
        scores, targets = [], []
        for level, score in enumerate(cls_scores):
            scores.append(score.permute(0, 2, 3, 1).reshape(-1, classes))
            for label, weight in zip(labels[level].reshape(-1).tolist(),
                                     label_weights[level].reshape(-1).tolist()):
                targets.append([-1] * classes if weight == 0 else [int(label == c) for c in range(classes)])
        assert sum(row.count(1) for row in targets) > 0
        return ap_loss_reference(torch.cat(scores), torch.tensor(targets))
    return compute


@pytest.fixture
def with_masks():
    """Gives each object of the (64 x 64) data samples a mask: the ellipse inscribed in its box."""
    import numpy as np
    from mmdet.structures.mask import BitmapMasks

    def add(samples):
        rows, cols = np.mgrid[0:64, 0:64] + 0.5
        for sample in samples:
            masks = []
            for x1, y1, x2, y2 in sample.gt_instances.bboxes.tolist():
                cx, cy, rx, ry = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2, (y2 - y1) / 2
                masks.append(((cols - cx) / rx) ** 2 + ((rows - cy) / ry) ** 2 <= 1)
            sample.gt_instances.masks = BitmapMasks(np.array(masks, dtype=np.uint8).reshape(-1, 64, 64), 64, 64)
        return samples
    return add


@pytest.fixture
def assert_bf16_losses_close():
    """Checks the losses {name: value} of a step under bf16 autocast against the same step's in
    fp32: the same names, each finite and within 5% (or 0.02) of its fp32 value."""
    def check(low, full):
        assert low.keys() == full.keys()
        for name, value in low.items():
            assert torch.isfinite(value), (name, value)
            torch.testing.assert_close(value.float(), full[name].float(), rtol=0.05, atol=0.02, msg=name)
    return check
