"""RS-YOLACT's heads (Oksuz et al., ICCV 2021, sec. 5): ValueBalancedYOLACTHead against the RS-ATSS
anchor-by-anchor reference, ValueBalancedYOLACTProtonet against a positive-by-positive Dice written
from the authors' RankSortYOLACT, and the refusals."""
import copy

import pytest
import torch

pytest.importorskip('mmdet', reason='the mmdet modules need mmdet (the op tests do not)')

from mmdet.registry import MODELS  # noqa: E402
from mmengine.config import ConfigDict  # noqa: E402

import mmdet_losses  # noqa: E402,F401  (registers the modules)
import rank_sort_tests  # noqa: E402  (tests/models/conftest.py loads test_rank_sort.py by this name)

TWO_IMAGES = [([[4.0, 4.0, 36.0, 40.0]], [1]), ([[10.0, 8.0, 30.0, 28.0], [32.0, 30.0, 60.0, 62.0]], [0, 2])]
PROTOS = 4


def head_cfg(**overrides):
    cfg = dict(type='ValueBalancedYOLACTHead', num_classes=3, in_channels=8, feat_channels=8, num_protos=PROTOS,
               anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=1,
                                     ratios=[0.5, 1.0, 2.0], strides=[8, 16]),
               bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[0.1, 0.1, 0.2, 0.2]),
               train_cfg=ConfigDict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                                                  min_pos_iou=0.0, ignore_iof_thr=-1, gt_max_assign_all=False),
                                    sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1,
                                    debug=False),
               test_cfg=ConfigDict(nms_pre=100, min_bbox_size=0, score_thr=0.0, iou_thr=0.5, top_k=50,
                                   max_per_img=20))
    cfg.update(overrides)
    return cfg


PROTONET = dict(type='ValueBalancedYOLACTProtonet', num_classes=3, in_channels=8, num_protos=PROTOS,
                proto_channels=(8, None, PROTOS), proto_kernel_sizes=(3, -2, 1))


def read_entry(maps, image, flat_index, per_location, channels):
    """The ``channels`` values of an image's entry ``flat_index`` (levels concatenated, each in
    (location, anchor) order) read from the output maps by (level, y, x, anchor)."""
    for level in maps:
        height, width = level.shape[-2:]
        count = height * width * per_location
        if flat_index < count:
            location, anchor = divmod(flat_index, per_location)
            y, x = divmod(location, width)
            return level[image, anchor * channels:(anchor + 1) * channels, y, x]
        flat_index -= count
    raise IndexError(flat_index)


def mask_reference(prototypes, coeffs, box, gt_mask, image_size=64):
    """One positive's 1 - Dice as the authors compute it: sigmoid(prototypes x coefficients),
    zeroed outside its ground-truth box widened by one pixel of the mask, against the ground-truth
    mask resized bilinearly and thresholded at 0.5."""
    height, width = prototypes.shape[:2]
    mask = torch.sigmoid(prototypes @ coeffs)
    x1, y1, x2, y2 = (box / image_size).tolist()
    keep = torch.zeros(height, width)
    for r in range(height):
        for c in range(width):
            keep[r, c] = float(max(x1 * width - 1, 0) <= c < min(x2 * width + 1, width)
                               and max(y1 * height - 1, 0) <= r < min(y2 * height + 1, height))
    mask = (mask * keep).clamp(0, 1).flatten()
    target = torch.nn.functional.interpolate(torch.tensor(gt_mask, dtype=torch.float32)[None, None], (height, width),
                                             mode='bilinear', align_corners=False)[0, 0].gt(0.5).float().flatten()
    return 1 - 2 * (mask * target).sum() / ((mask ** 2).sum() + (target ** 2).sum() + 1e-5)


def test_box_head_and_protonet_equal_the_references(detection_batch, with_masks):
    torch.manual_seed(0)
    head, protonet = MODELS.build(head_cfg()), MODELS.build(PROTONET)
    feats, samples = detection_batch(TWO_IMAGES)
    samples = with_masks(samples)
    gts, metas = [s.gt_instances for s in samples], [s.metainfo for s in samples]
    cls_scores, bbox_preds, coeff_preds = head(feats)
    losses = head.loss_by_feat(cls_scores, bbox_preds, coeff_preds, gts, metas)
    expected = rank_sort_tests.anchor_by_anchor_reference(head, cls_scores, bbox_preds, samples,
                                                          targets_at=slice(0, 3))
    for name, value in zip(('loss_rank', 'loss_sort', 'loss_bbox'), expected):
        torch.testing.assert_close(losses[name], value, rtol=1e-5, atol=1e-7, msg=name)

    infos = head.get_positive_infos()
    mask_preds, _ = protonet(feats, infos)
    loss_mask = protonet.loss_by_feat(mask_preds, None, gts, metas, infos)['loss_mask']
    prototypes = protonet.protonet(feats[0]).permute(0, 2, 3, 1)
    terms, weights = [], []
    for image, info in enumerate(infos):
        assert len(info) > 0
        for index, gt in zip(info.pos_inds.tolist(), info.pos_assigned_gt_inds.tolist()):
            score = read_entry(cls_scores, image, index, head.num_base_priors, head.cls_out_channels)
            weights.append(score.detach().sigmoid().max())
            coeffs = read_entry(coeff_preds, image, index, head.num_base_priors, PROTOS)
            terms.append(weights[-1] * mask_reference(prototypes[image], coeffs, gts[image].bboxes[gt],
                                                      gts[image].masks.masks[gt]))
    unbalanced = sum(terms) / sum(weights)
    classification = (expected[0] + expected[1]).detach()
    reference = unbalanced * classification / unbalanced.detach()
    # The value-based balance: the mask loss's value is the classification loss's.
    torch.testing.assert_close(loss_mask, reference, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(loss_mask, classification, rtol=1e-5, atol=1e-7)
    rank_sort_tests.assert_same_gradients(sum(losses.values()) + loss_mask, sum(expected) + reference,
                                          cls_scores + bbox_preds + coeff_preds)


def test_a_step_without_objects(detection_batch, with_masks):
    head, protonet = MODELS.build(head_cfg()), MODELS.build(PROTONET)
    feats, samples = detection_batch([([], []), ([], [])])
    samples = with_masks(samples)
    losses = head.loss(feats, samples)
    infos = head.get_positive_infos()
    mask_preds, _ = protonet(feats, infos)
    losses.update(protonet.loss_by_feat(mask_preds, None, [s.gt_instances for s in samples],
                                        [s.metainfo for s in samples], infos))
    assert all(value.item() == 0 for value in losses.values())
    sum(losses.values()).backward()
    assert all(p.grad is not None and not p.grad.any() for p in [*head.parameters(), *protonet.parameters()])


def test_one_bf16_autocast_step_is_finite_and_close_to_fp32(detection_batch, with_masks, assert_bf16_losses_close):
    torch.manual_seed(0)
    head, protonet = MODELS.build(head_cfg()), MODELS.build(PROTONET)
    feats, samples = detection_batch(TWO_IMAGES)
    samples = with_masks(samples)

    def step():
        batch = copy.deepcopy(samples)
        losses = head.loss(feats, batch)
        infos = head.get_positive_infos()
        mask_preds, _ = protonet(feats, infos)
        losses.update(protonet.loss_by_feat(mask_preds, None, [s.gt_instances for s in batch],
                                            [s.metainfo for s in batch], infos))
        return losses
    full = step()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        low = step()
    sum(low.values()).backward()
    assert_bf16_losses_close(low, full)
    assert all(torch.isfinite(p.grad).all() for p in [*head.parameters(), *protonet.parameters()]
               if p.grad is not None)


def test_a_non_finite_prediction_is_named(detection_batch, with_masks):
    head = MODELS.build(head_cfg())
    feats, samples = detection_batch(TWO_IMAGES)
    cls_scores, bbox_preds, coeff_preds = head(feats)
    broken = [level.detach().clone() for level in cls_scores]
    broken[1].view(-1)[7] = float('inf')
    with pytest.raises(ValueError, match=r'ValueBalancedYOLACTHead.loss_by_feat: cls_scores\[1\] must be finite, '
                                         r'got inf at flat index 7'):
        head.loss_by_feat(broken, bbox_preds, coeff_preds, [s.gt_instances for s in with_masks(samples)],
                          [s.metainfo for s in samples])


def test_refusals(detection_batch, with_masks):
    with pytest.raises(ValueError, match='ValueBalancedYOLACTHead: use_ohem must be False.*got True'):
        MODELS.build(head_cfg(use_ohem=True))
    with pytest.raises(ValueError, match='ValueBalancedYOLACTProtonet: with_seg_branch must be False'):
        MODELS.build(dict(PROTONET, with_seg_branch=True))
    stock = MODELS.build(dict(head_cfg(), type='YOLACTHead', use_ohem=False,
                              loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, reduction='none')))
    feats, samples = detection_batch(TWO_IMAGES)
    samples = with_masks(samples)
    stock.loss(feats, samples)
    protonet = MODELS.build(PROTONET)
    infos = stock.get_positive_infos()
    mask_preds, _ = protonet(feats, infos)
    with pytest.raises(RuntimeError, match='gave no score weights; use it with ValueBalancedYOLACTHead'):
        protonet.loss_by_feat(mask_preds, None, [s.gt_instances for s in samples], [s.metainfo for s in samples],
                              infos)
