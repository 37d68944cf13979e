"""tools/benchmark_aploss.py runs and reports what it measured (no timing assertions)."""
import pytest


@pytest.fixture(scope='module')
def benchmark_tool(load_tool):
    return load_tool('benchmark_aploss')


def test_prints_a_row_per_size_with_sampled_loop(benchmark_tool, capsys):
    rows = benchmark_tool.main(['--sizes', '2000:10', '5000:40', '--devices', 'cpu',
                                '--repeat', '1', '--loop-positives', '20'])
    out = capsys.readouterr().out
    assert [(r['n'], r['p']) for r in rows] == [(2000, 10), (5000, 40)]
    assert all(r['op'] > 0 and r['loop'] > 0 and r['sort'] > 0 for r in rows)
    assert '| cpu | 2e+03 | 10 |' in out and '| cpu | 5e+03 | 40 |' in out
    assert '(timed on 20, scaled)' in out  # 40 positives > 20: sampled and said so
    assert out.count('(timed on') == 1


def test_rejects_bad_sizes(benchmark_tool):
    with pytest.raises(SystemExit):
        benchmark_tool.main(['--sizes', '10:20'])
    with pytest.raises(SystemExit):
        benchmark_tool.main(['--sizes', 'big'])
