"""tools/benchmark_aploss.py runs and reports what it measured (no timing assertions)."""
import pytest


@pytest.fixture(scope='module')
def benchmark_tool(load_tool):
    return load_tool('benchmark_aploss')


def test_prints_a_row_per_size_and_distribution(benchmark_tool, capsys):
    rows = benchmark_tool.main(['--sizes', '2000:10', '5000:40', '--devices', 'cpu',
                                '--repeat', '1', '--loop-positives', '20'])
    out = capsys.readouterr().out
    assert [(r['n'], r['p'], r['scores']) for r in rows] == [
        (n, p, scores) for n, p in [(2000, 10), (5000, 40)] for scores in ('normal', 'start', 'trained')]
    assert all(r[column] > 0 for r in rows for column in ('op', 'official', 'loop', 'sort', 'floor'))
    assert '| cpu | 2e+03 | 10 | trained |' in out and '| cpu | 5e+03 | 40 | start |' in out
    assert out.count('(on 20, scaled)') == 6  # 40 positives > 20: sampled and said so, both loops


def test_the_sample_keeps_the_pruning_threshold(benchmark_tool):
    import torch
    scores, targets = benchmark_tool.problem(5000, 100, 'trained', torch.float32, 'cpu')
    sampled = benchmark_tool.sampled_targets(scores, targets, 10)
    assert int((sampled == 1).sum()) == 10 and int((sampled == 0).sum()) == int((targets == 0).sum())
    assert scores[sampled == 1].min() == scores[targets == 1].min()


def test_rejects_bad_sizes(benchmark_tool):
    with pytest.raises(SystemExit):
        benchmark_tool.main(['--sizes', '10:20'])
    with pytest.raises(SystemExit):
        benchmark_tool.main(['--sizes', 'big'])

