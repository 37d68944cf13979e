"""tools/benchmark_aploss.py runs and reports what it measured (no timing assertions)."""
import pytest


@pytest.fixture(scope='module')
def benchmark_tool(load_tool):
    return load_tool('benchmark_aploss')


def test_prints_a_row_per_loss_size_and_distribution(benchmark_tool, capsys):
    rows = benchmark_tool.main(['--sizes', '2000:10', '5000:40', '--devices', 'cpu',
                                '--repeat', '1', '--loop-positives', '20'])
    out = capsys.readouterr().out
    assert [(r['loss'], r['n'], r['p'], r['scores']) for r in rows] == [
        (loss, n, p, scores) for loss in ('alrp', 'aploss', 'rank_sort') for n, p in [(2000, 10), (5000, 40)]
        for scores in ('normal', 'start', 'trained')]
    assert all(r[column] > 0 for r in rows for column in ('op', 'official', 'loop', 'sort', 'floor'))
    assert out.count('| cpu | 2e+03 | 10 | trained |') == 3 and out.count('| cpu | 5e+03 | 40 | start |') == 3
    assert out.count('(on 20, scaled)') == 18  # 40 positives > 20: sampled and said so, both loops
    assert 'AP-Loss, int8 targets, interpolated: forward + backward, fp32 scores, delta=1.0' in out
    assert 'Rank & Sort loss (ranking + sorting), float targets: forward + backward, fp32 scores, delta=0.5' in out
    assert 'aLRP Loss (classification + localisation), int8 targets: forward + backward, fp32 scores, delta=1.0' in out


@pytest.mark.parametrize('loss', ['aploss', 'rank_sort', 'alrp'])
def test_the_sample_keeps_the_pruning_threshold(benchmark_tool, loss):
    import torch
    scores, targets = benchmark_tool.problem(5000, 100, 'trained', torch.float32, 'cpu', loss)
    sampled = benchmark_tool.sampled_targets(scores, targets, 10)
    assert int((sampled > 0).sum()) == 10 and int((sampled == 0).sum()) == int((targets == 0).sum())
    assert scores[sampled > 0].min() == scores[targets > 0].min()
    assert torch.equal(sampled[sampled > 0], targets[sampled > 0])  # the sorting targets are kept


def test_rejects_bad_sizes(benchmark_tool):
    with pytest.raises(SystemExit):
        benchmark_tool.main(['--sizes', '10:20'])
    with pytest.raises(SystemExit):
        benchmark_tool.main(['--sizes', 'big'])

