"""RS-SOLOv2's head (Oksuz et al., ICCV 2021, sec. 5): ValueBalancedSOLOV2Head against a
cell-by-cell reference written from the authors' RankBasedSOLOv2Head (Rank & Sort with each
positive cell's mask Dice as its sorting target, the score-weighted Dice loss balanced by value),
with two objects on one level of one image, and the refusals."""
import pytest
import torch

pytest.importorskip('mmdet', reason='the mmdet modules need mmdet (the op tests do not)')

from mmdet.registry import MODELS  # noqa: E402
from mmengine.config import ConfigDict  # noqa: E402

import mmdet_losses  # noqa: E402,F401  (registers the modules)
import rank_sort_tests  # noqa: E402  (tests/models/conftest.py loads test_rank_sort.py by this name)
from mmdet_losses.functional import rank_sort_loss_reference  # noqa: E402

# The second image has two objects on the first level, the one whose cells come later in the grid
# listed first (the authors' code pairs cells and masks by position, which mixes these up).
TWO_IMAGES = [([[4.0, 4.0, 36.0, 40.0]], [1]), ([[32.0, 30.0, 60.0, 62.0], [10.0, 8.0, 30.0, 28.0]], [2, 0])]


def batch(detection_batch, with_masks, images):
    """(feats, data samples with masks and the metainfo SOLOv2 reads) for the 64 x 64 images."""
    feats, samples = detection_batch(images)
    for sample in with_masks(samples):
        sample.set_metainfo(dict(ori_shape=(64, 64), batch_input_shape=(64, 64)))
    return feats, samples


def head_cfg(**overrides):
    cfg = dict(type='ValueBalancedSOLOV2Head', num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1,
               strides=[8, 16], scale_ranges=((1, 48), (24, 128)), pos_scale=0.2, num_grids=[6, 4],
               cls_down_index=0,
               mask_feature_head=dict(feat_channels=8, start_level=0, end_level=1, out_channels=4, mask_stride=8,
                                      norm_cfg=dict(type='GN', num_groups=4, requires_grad=True)),
               norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
               test_cfg=ConfigDict(nms_pre=100, score_thr=0.0, mask_thr=0.5, filter_thr=0.05, kernel='gaussian',
                                   sigma=2.0, max_per_img=20))
    cfg.update(overrides)
    return cfg


def cell_by_cell_reference(head, kernel_preds, cls_preds, mask_feats, samples):
    """Rows of the class maps by (level, image, cell), mmdet's assignment, each positive's mask
    sigmoid(sum_c kernel_c x feature_c) and its Dice (1e-3 added to each sum, as the authors'),
    a cell claimed by two objects taking the later one's Dice."""
    rows, labels, dice_of_cell, terms, weights = [], [], {}, [], []
    targets = [head._get_targets_single(s.gt_instances, featmap_sizes=mask_feats.shape[-2:]) for s in samples]
    for level, (kernels, scores) in enumerate(zip(kernel_preds, cls_preds)):
        grid = scores.shape[-1]
        for image in range(scores.shape[0]):
            mask_targets, cell_labels, _, positives = targets[image]
            for k, cell in enumerate(positives[level]):
                y, x = divmod(cell, grid)
                mask = torch.sigmoid(torch.einsum('c,chw->hw', kernels[image, :, y, x], mask_feats[image]))
                target = mask_targets[level][k].float()
                dice = 2 * (mask * target).sum() / ((mask ** 2).sum() + 1e-3 + (target ** 2).sum() + 1e-3)
                dice_of_cell[(level, image, cell)] = dice.detach()
                weight = scores[image, :, y, x].detach().sigmoid().max()
                terms.append(weight * (1 - dice))
                weights.append(weight)
            for cell in range(grid * grid):
                y, x = divmod(cell, grid)
                rows.append(scores[image, :, y, x])
                labels.append((int(cell_labels[level][y, x]), dice_of_cell.get((level, image, cell), 0.0)))
    classes = head.num_classes
    target_rows = torch.zeros(len(rows), classes, dtype=torch.float64)
    for row, (label, dice) in enumerate(labels):
        if label < classes:
            target_rows[row, label] = float(dice)
    ranking, sorting = rank_sort_loss_reference(torch.stack(rows), target_rows)
    unbalanced = sum(terms) / sum(weights)
    return ranking, sorting, unbalanced * (ranking + sorting).detach() / unbalanced.detach()


def test_head_equals_the_cell_by_cell_reference(detection_batch, with_masks):
    torch.manual_seed(0)
    head = MODELS.build(head_cfg())
    feats, samples = batch(detection_batch, with_masks, TWO_IMAGES)
    kernel_preds, cls_preds, mask_feats = head(feats)
    losses = head.loss_by_feat(kernel_preds, cls_preds, mask_feats, [s.gt_instances for s in samples],
                               [s.metainfo for s in samples])
    second = head._get_targets_single(samples[1].gt_instances, featmap_sizes=mask_feats.shape[-2:])[3][0]
    assert second != sorted(second)  # the masks' order is not the cells' order
    expected = cell_by_cell_reference(head, kernel_preds, cls_preds, mask_feats, samples)
    for name, value in zip(('loss_rank', 'loss_sort', 'loss_mask'), expected):
        torch.testing.assert_close(losses[name], value.to(losses[name].dtype), rtol=1e-5, atol=1e-6, msg=name)
    assert losses['loss_sort'] > 0
    rank_sort_tests.assert_same_gradients(sum(losses.values()), sum(expected).float(),
                                          kernel_preds + cls_preds + [mask_feats])
    head.eval()
    with torch.no_grad():
        assert len(head.predict(feats, samples)[0]) <= 20


def test_a_step_without_objects_and_a_bad_loss(detection_batch, with_masks):
    head = MODELS.build(head_cfg())
    losses = head.loss(*batch(detection_batch, with_masks, [([], []), ([], [])]))
    assert all(value.item() == 0 for value in losses.values())
    sum(losses.values()).backward()
    assert all(p.grad is not None and not p.grad.any() for p in head.parameters())
    with pytest.raises(ValueError, match='ValueBalancedSOLOV2Head: loss_cls must be RankSortLoss.*got FocalLoss'):
        MODELS.build(head_cfg(loss_cls=dict(type='FocalLoss', use_sigmoid=True)))
    with pytest.raises(ValueError, match='ValueBalancedSOLOV2Head: loss_mask must be DiceLoss.*got CrossEntropyLoss'):
        MODELS.build(head_cfg(loss_mask=dict(type='CrossEntropyLoss', use_sigmoid=True)))
    # mmdet's SOLOv2 configs weigh their Dice loss 3: the balance cancels it, the head takes it.
    MODELS.build(head_cfg(loss_mask=dict(type='DiceLoss', loss_weight=3.0)))


def test_one_bf16_autocast_step_is_finite_and_close_to_fp32(detection_batch, with_masks, assert_bf16_losses_close):
    torch.manual_seed(0)
    head = MODELS.build(head_cfg())
    feats, samples = batch(detection_batch, with_masks, TWO_IMAGES)
    full = head.loss(feats, samples)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        low = head.loss(feats, samples)
    sum(low.values()).backward()
    assert_bf16_losses_close(low, full)
    assert all(torch.isfinite(p.grad).all() for p in head.parameters() if p.grad is not None)


def test_a_non_finite_score_is_named(detection_batch, with_masks):
    head = MODELS.build(head_cfg())
    feats, samples = batch(detection_batch, with_masks, TWO_IMAGES)
    kernel_preds, cls_preds, mask_feats = head(feats)
    broken = [level.detach().clone() for level in cls_preds]
    broken[0].view(-1)[5] = float('nan')
    with pytest.raises(ValueError, match='RankSortLoss: cls_score must be finite, got nan at flat index'):
        head.loss_by_feat(kernel_preds, broken, mask_feats, [s.gt_instances for s in samples],
                          [s.metainfo for s in samples])
