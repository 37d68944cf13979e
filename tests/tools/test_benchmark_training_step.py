"""tools/benchmark_training_step.py trains both losses and reports their step times (no timing
assertions), and the AP-Loss classification loss it swaps in is one ranking of the minibatch."""
import pytest
import torch

pytest.importorskip('torchvision', reason='the detector is torchvision\'s RetinaNet')


@pytest.fixture(scope='module')
def training_tool(load_tool):
    return load_tool('benchmark_training_step')


@pytest.mark.slow
def test_times_focal_aploss_focal(training_tool, capsys):
    rows = training_tool.main(['--device', 'cpu', '--batch', '1', '--size', '96', '--iters', '1',
                               '--warmup', '0', '--classes', '3'])
    assert list(rows) == ['focal', 'aploss', 'focal (again)']
    assert all(median > 0 and mean > 0 for median, mean in rows.values())
    assert 'AP-Loss / focal (median s/step, the faster focal run):' in capsys.readouterr().out


def test_aploss_targets_mark_matched_classes_and_ignore_between_thresholds(training_tool, monkeypatch):
    seen = {}

    def fake_ap_loss(scores, targets):
        seen['targets'] = targets
        return scores.sum() * 0

    monkeypatch.setattr(training_tool, 'ap_loss', fake_ap_loss)
    head = type('Head', (), {'BETWEEN_THRESHOLDS': -2})()
    training_tool.ap_loss_classification(head)
    logits = torch.zeros(2, 4, 3)
    targets = [dict(labels=torch.tensor([2])), dict(labels=torch.tensor([0, 1]))]
    matched = [torch.tensor([0, -1, -2, 0]), torch.tensor([1, 1, 0, -1])]
    head.compute_loss(targets, dict(cls_logits=logits), matched)
    expected = torch.zeros(2, 4, 3, dtype=torch.int8)
    expected[0, 0, 2] = expected[0, 3, 2] = 1
    expected[0, 2] = -1
    expected[1, 0, 1] = expected[1, 1, 1] = expected[1, 2, 0] = 1
    assert torch.equal(seen['targets'], expected)


def test_rejects_bad_arguments(training_tool):
    with pytest.raises(SystemExit):
        training_tool.main(['--iters', '0'])
