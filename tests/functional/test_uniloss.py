"""UniLoss: each piece (re-expression, relaxation, anchors, interpolation), the paper's Table 1 trend
and training on the metric it targets."""
import pytest
import torch

from mmdet_losses.functional import uniloss
from mmdet_losses.functional.uniloss import (accuracy_from_signs, ap_from_signs, binary_variables,
                                             interpolate, relax, sample_anchors)


def average_precision(scores, targets):
    """AP of a ranking by sorting: mean over positives of the precision at their place."""
    order = scores.argsort(descending=True)
    hits = targets[order].double()
    precision = hits.cumsum(0) / torch.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / hits.sum())


def signs_of(differences):
    return torch.where(differences > 0, 1.0, -1.0)


def spearman(a, b):
    ra, rb = (x.argsort().argsort().double() for x in (a, b))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float((ra * rb).sum() / (ra.norm() * rb.norm()))


def test_re_expressed_ap_is_the_exact_ap_at_the_current_signs():
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        targets = (torch.rand(40, generator=generator) < 0.3).long()
        targets[:2] = torch.tensor([1, 0])
        scores = torch.randn(40, generator=generator) + targets
        problem = binary_variables(scores, targets, 'binary_ap')
        value = problem.metric(signs_of(problem.differences)[None])[0]
        assert value.item() == pytest.approx(average_precision(scores, targets), abs=1e-12)


def test_re_expressed_accuracy_is_the_exact_accuracy_with_few_kept_classes():
    generator = torch.Generator().manual_seed(1)
    scores, labels = torch.randn(64, 10, generator=generator), torch.randint(10, (64,), generator=generator)
    for max_classes in (9, 3, 1):
        problem = binary_variables(scores, labels, 'accuracy', max_classes=max_classes)
        assert problem.differences.numel() == 64 * max_classes
        value = problem.metric(signs_of(problem.differences)[None])[0]
        assert value.item() == pytest.approx(float((scores.argmax(1) == labels).double().mean()))
    assert accuracy_from_signs(torch.tensor([[1.0, 1.0, 1.0, -1.0]]), 2).item() == 0.5
    assert ap_from_signs(torch.ones(1, 6), 2, 3).item() == 1.0


def test_anchors_are_best_good_nearby_and_random():
    current = signs_of(torch.randn(300, generator=torch.Generator().manual_seed(2)))
    anchors = sample_anchors(current, num_anchors=16, generator=torch.Generator().manual_seed(3))
    assert anchors.shape == (49, 300) and set(anchors.unique().tolist()) == {-1.0, 1.0}
    assert torch.equal(anchors[0], torch.ones(300))
    assert ((anchors[1:17] != 1).sum(1) == 1).all(), 'good: the best with one bit flipped'
    assert ((anchors[17:33] != current).sum(1) == 1).all(), 'nearby: the current signs, one bit flipped'
    assert ((anchors[33:] != current).sum(1) > 50).all(), 'random'


def test_relaxation_and_interpolation():
    d = torch.tensor([-3.0, 0.0, 3.0])
    torch.testing.assert_close(relax(d), 2 * torch.sigmoid(d) - 1)
    anchors = torch.tensor([[1.0, 1.0, 1.0], [-1.0, 1.0, 1.0], [-1.0, -1.0, 1.0]])
    values = torch.tensor([1.0, 0.6, 0.2], dtype=torch.float64)
    for anchor, value in zip(anchors, values):
        assert interpolate(anchor.double(), anchors, values).item() == value.item(), 'exact at anchors'
    point = torch.tensor([0.2, 0.9, 0.7], dtype=torch.float64)
    weights = 1 / (anchors.double() - point).norm(dim=1)
    expected = float((weights * values).sum() / weights.sum())
    assert interpolate(point, anchors, values).item() == pytest.approx(expected)


def table_1_correlations(seed=4, problems=150, fractions=(0, 1 / 128, 1 / 8, 1 / 2)):
    """The experiment of paper Table 1 on random binary-AP problems of 48 items: for each Hamming distance
    (a fraction of the bits) from the signs the anchors were built at, the rank correlation between
    the interpolated and the true AP of configurations at that distance. docs/classification_losses.md
    quotes its output."""
    generator = torch.Generator().manual_seed(seed)
    correlations = []
    for fraction in fractions:
        approximated, true = [], []
        for _ in range(problems):
            targets = (torch.rand(48, generator=generator) < 0.3).long()
            targets[:2] = torch.tensor([1, 0])
            scores = torch.randn(48, generator=generator) + 1.5 * torch.rand(1, generator=generator) * targets
            problem = binary_variables(scores, targets, 'binary_ap')
            signs = signs_of(problem.differences)
            anchors = sample_anchors(signs, 16, generator)
            flipped = signs.clone()
            num_flipped = round(fraction * signs.numel())
            flipped[torch.randperm(signs.numel(), generator=generator)[:num_flipped]] *= -1
            approximated.append(interpolate(flipped.double(), anchors, problem.metric(anchors)).item())
            true.append(problem.metric(flipped[None])[0].item())
        correlations.append(spearman(torch.tensor(approximated), torch.tensor(true)))
    return correlations


def test_interpolator_tracks_the_metric_near_training_configurations_paper_table_1():
    """The interpolated AP ranks configurations like the true AP when they are close to those seen
    in training, and ever less so when far (paper Table 1: rank correlation 0.98 at distance 0, 0.92
    at 1/128 of the bits, 0.35 at 1/8, 0.15 at 1/2)."""
    correlations = table_1_correlations()
    assert correlations[0] > 0.95 and correlations[1] > 0.9, correlations
    assert correlations[0] >= correlations[1] > correlations[2] > correlations[3], correlations
    assert correlations[3] < 0.8, correlations


@pytest.mark.slow
def test_training_a_linear_ranker_raises_its_ap():
    generator = torch.Generator().manual_seed(5)
    targets = (torch.rand(400, generator=generator) < 0.2).long()
    features = torch.randn(400, 2, generator=generator) + 1.2 * targets[:, None] * torch.tensor([1.0, -0.5])
    weight = torch.tensor([-1.0, 1.0], requires_grad=True)    # starts ranking the wrong way
    optimizer = torch.optim.SGD([weight], lr=0.5)
    before = average_precision(features @ weight.detach(), targets)
    for _ in range(150):
        loss = uniloss(features @ weight, targets, 'binary_ap', generator=generator)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = average_precision(features @ weight.detach(), targets)
    assert before < 0.2 and after > 0.5, (before, after)


def test_training_a_linear_classifier_raises_its_accuracy():
    generator = torch.Generator().manual_seed(6)
    centres = torch.tensor([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    labels = torch.randint(3, (300,), generator=generator)
    features = centres[labels] + 0.7 * torch.randn(300, 2, generator=generator)
    torch.manual_seed(0)
    layer = torch.nn.Linear(2, 3)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.5)
    accuracy = lambda: float((layer(features).argmax(1) == labels).double().mean())  # noqa: E731
    before = accuracy()
    for _ in range(100):
        loss = uniloss(layer(features), labels, 'accuracy', generator=generator)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert before < 0.4 and accuracy() > 0.9, (before, accuracy())


def test_detection_ap_bounds_the_binary_variables_and_skips_ignored_entries():
    generator = torch.Generator().manual_seed(7)
    scores = torch.randn(2000, 80, generator=generator)
    targets = torch.zeros(2000, 80, dtype=torch.int8)
    targets[torch.arange(300), torch.randint(80, (300,), generator=generator)] = 1
    targets[1900:] = -1
    problem = binary_variables(scores, targets, 'detection_ap', max_positives=64, max_negatives=256,
                               generator=generator)
    assert problem.differences.numel() == 64 * 256
    scores.requires_grad_()
    loss = uniloss(scores, targets, 'detection_ap', generator=generator)
    loss.backward()
    assert -1 <= loss.item() <= 0 and torch.isfinite(scores.grad).all()
    assert (scores.grad[1900:] == 0).all(), 'ignored entries get no gradient'
    # The interpolation is not monotone in each score, but on the whole it lifts the positives.
    assert scores.grad[targets == 1].sum() < 0 < scores.grad[targets == 0].sum()


def test_nothing_to_rank_and_bad_arguments():
    scores = torch.randn(10, requires_grad=True)
    loss = uniloss(scores, torch.zeros(10, dtype=torch.long))
    loss.backward()
    assert loss.item() == 0.0 and (scores.grad == 0).all()
    with pytest.raises(ValueError, match="metric must be one of .* got 'f1'"):
        uniloss(scores, torch.zeros(10), metric='f1')
    with pytest.raises(ValueError, match="targets for 'binary_ap' must be in"):
        uniloss(scores, torch.full((10,), -1))
    with pytest.raises(ValueError, match='scores .n, C. and targets .n,.'):
        uniloss(scores, torch.zeros(10), metric='accuracy')
    with pytest.raises(ValueError, match='num_anchors must be >= 1, got 0'):
        uniloss(scores, torch.zeros(10), num_anchors=0)
