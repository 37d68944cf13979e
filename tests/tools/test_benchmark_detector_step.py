"""tools/benchmark_detector_step.py trains mmdet's RetinaNet with AP-Loss and reports its step time
as one JSON line (no timing assertions); its --compare mode alternates processes of two trees."""
import json

import pytest

pytest.importorskip('mmdet', reason='the detector is mmdet\'s RetinaNet')

TINY = ['--size', '128', '--iters', '1', '--warmup', '0', '--classes', '3', '--threads', '1']


@pytest.fixture(scope='module')
def step_tool(load_tool):
    return load_tool('benchmark_detector_step')


@pytest.mark.slow
@pytest.mark.parametrize('head', ['RetinaHead', 'APLossRetinaHead'])
def test_one_step_prints_a_json_line(step_tool, capsys, head):
    row = step_tool.main(['--head', head] + TINY)
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == row
    assert printed['head'] == head and printed['median_s'] > 0 and printed['mean_s'] > 0
    assert (printed['iters'], printed['size'], printed['threads']) == (1, 128, 1)


@pytest.mark.slow
def test_compare_alternates_processes_of_both_trees(step_tool, capsys):
    # This tree against itself: every process must import this tree's mmdet_losses.
    result = step_tool.main(['--compare', str(step_tool.REPOSITORY), '--pairs', '1'] + TINY)
    assert set(result['ab']) == {'before', 'after'} and set(result['aa']) == {'after A1', 'after A2'}
    assert all(len(medians) == 1 for medians in [*result['ab'].values(), *result['aa'].values()])
    assert result['ratio'] > 0 and result['aa_ratio'] > 0
    out = capsys.readouterr().out
    assert '| after / before:' in out and '| A/A:' in out


def test_generated_batch_is_fixed_by_the_seed(step_tool):
    first, second = (step_tool.generated_batch(2, 64, 5, seed=0) for _ in range(2))
    assert [image.shape for image in first['inputs']] == [(3, 64, 64)] * 2
    for a, b in zip(first['data_samples'], second['data_samples']):
        boxes = a.gt_instances.bboxes
        assert 2 <= len(boxes) <= 6 and (boxes[:, 2:] > boxes[:, :2]).all() and (boxes <= 64).all()
        assert a.gt_instances.labels.max() < 5 and b.gt_instances.bboxes.equal(boxes)


@pytest.mark.parametrize('bad', [['--iters', '0'], ['--warmup', '-1'], ['--threads', '0']])
def test_rejects_bad_arguments(step_tool, bad):
    with pytest.raises(SystemExit):
        step_tool.main(bad)
