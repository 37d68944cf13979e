"""tools/train.py and tools/test.py on the demo config: train, resume, evaluate (a few iterations)."""
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # trains or launches processes

pytest.importorskip('mmdet', reason='training needs mmdet')

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / 'configs' / 'demo' / 'retinanet_r18_fpn_aploss_1xb8-1100i_demo.py')


def logged_iterations(work_dir):
    """The training iterations logged in the work dir, oldest run first. (In one process mmengine's
    visualizer is a singleton, so later runs may write into the first run's log folder.)"""
    runs = sorted(Path(work_dir).glob('*/vis_data/scalars.json'))
    return [json.loads(line)['iter'] for run in runs for line in run.read_text().splitlines()
            if '"loss"' in line]


def test_train_resume_test_and_plot(load_tool, demo_workspace):
    train, test, plot_curves = load_tool('train'), load_tool('test'), load_tool('plot_curves')
    # Validation runs at the end of each run; score_thr=0 keeps every box of a barely trained
    # model, so pycocotools has results to score.
    options = ['default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=1',
               'train_dataloader.batch_size=4', 'train_cfg.val_interval=100',
               'model.test_cfg.score_thr=0.0']
    work_dir = str(demo_workspace / 'work')
    runner = train.main([CONFIG, '--work-dir', work_dir, '--cfg-options', 'train_cfg.max_iters=2', *options])
    assert runner.iter == 2 and (demo_workspace / 'work' / 'iter_2.pth').is_file()

    runner = train.main([CONFIG, '--work-dir', work_dir, '--resume', '--cfg-options',
                         'train_cfg.max_iters=3', *options])
    assert runner.iter == 3
    # A restart would log 1, 2, 1, 2, 3.
    assert logged_iterations(work_dir) == [1, 2, 3], 'the second run continues at iteration 3'

    metrics = test.main([CONFIG, str(demo_workspace / 'work' / 'iter_3.pth'), '--work-dir',
                         str(demo_workspace / 'eval'), '--out', str(demo_workspace / 'predictions.pkl'),
                         '--cfg-options', 'model.test_cfg.score_thr=0.0'])
    assert 0.0 <= metrics['coco/bbox_mAP'] <= 1.0 and 'coco/bbox_mAP_50' in metrics, metrics
    assert (demo_workspace / 'predictions.pkl').is_file()

    png = demo_workspace / 'curves.png'
    [(loss, run_metrics)] = plot_curves.main([work_dir, '--labels', 'AP-Loss', '--out', str(png)])
    assert [iteration for iteration, _ in loss] == [1, 2, 3]
    assert [step for step, _ in run_metrics['coco/bbox_mAP']] == [2, 3]
    assert png.stat().st_size > 10_000


# Demo configs whose ranking loss_cls a stock head (RetinaHead, SigmoidSSDHead) ranks over all
# levels and images as one.
ONE_RANKING = {'demo/ssd_r18_fpn_aploss_1xb8-1100i_demo.py', 'two_way/retinanet_r18_fpn_two-way_1xb8-1100i_demo.py',
               'uniloss/retinanet_r18_fpn_uniloss_1xb8-1100i_demo.py'}


@pytest.mark.parametrize('config, head', [
    ('demo/ssd_r18_fpn_aploss_1xb8-1100i_demo.py', 'SigmoidSSDHead'),
    ('harmonic/retinanet_r18_fpn_harmonic_1xb8-1100i_demo.py', 'HarmonicRetinaHead'),
    ('harmonic/retinanet_r18_fpn_harmonic-hiou_1xb8-1100i_demo.py', 'HarmonicRetinaHead'),
    ('harmonic/ssd_r18_fpn_harmonic_1xb8-1100i_demo.py', 'HarmonicSSDHead'),
    ('anchor_loss/retinanet_r18_fpn_anchor-loss_1xb8-1100i_demo.py', 'RetinaHead'),
    ('two_way/retinanet_r18_fpn_two-way_1xb8-1100i_demo.py', 'RetinaHead'),
    ('uniloss/retinanet_r18_fpn_uniloss_1xb8-1100i_demo.py', 'RetinaHead'),
    ('rank_sort/rs_atss_r18_fpn_1xb8-1100i_demo.py', 'ValueBalancedATSSHead'),
    ('rank_sort/atss_r18_fpn_1xb8-1100i_demo.py', 'ATSSHead'),
])
def test_each_head_trains_and_evaluates(load_tool, demo_workspace, config, head):
    """The other demo configs through the same tools: one training iteration, then a COCO
    evaluation."""
    name, config = config, str(ROOT / 'configs' / config)
    runner = load_tool('train').main([config, '--work-dir', 'work', '--cfg-options', 'train_cfg.max_iters=1',
                                      'default_hooks.checkpoint.interval=1', 'train_dataloader.batch_size=4'])
    assert runner.iter == 1 and type(runner.model.bbox_head).__name__ == head
    # The stock head gathers its per-level calls of a ranking loss_cls into one ranking of all
    # levels and images (it keeps its name); ValueBalancedATSSHead ranks once itself.
    assert hasattr(type(runner.model.bbox_head), 'gathering_base') == (name in ONE_RANKING)
    metrics = load_tool('test').main([config, 'work/iter_1.pth', '--work-dir', 'eval'])
    assert 0.0 <= metrics['coco/bbox_mAP'] <= 1.0, metrics


def test_checkpoints_need_only_the_allowed_globals(load_tool, demo_workspace):
    import torch

    from mmdet_losses.models.checkpoints import mmengine_checkpoint_globals
    train = load_tool('train')
    train.main([CONFIG, '--work-dir', 'work', '--cfg-options', 'train_cfg.max_iters=1',
                'default_hooks.checkpoint.interval=1', 'train_dataloader.batch_size=2'])
    allowed = {f'{obj.__module__}.{obj.__qualname__}' for obj in mmengine_checkpoint_globals()}
    needed = set(torch.serialization.get_unsafe_globals_in_checkpoint('work/iter_1.pth'))
    assert needed <= allowed | {'builtins.getattr'}, needed - allowed


def test_a_finished_distributed_run_closes_its_process_group(load_tool, demo_workspace, monkeypatch):
    """Left open, gloo's group can abort the process at interpreter exit after a successful run."""
    import socket

    import torch.distributed as dist
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    for name, value in dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1',
                            MASTER_PORT=str(port), CUDA_VISIBLE_DEVICES='').items():
        monkeypatch.setenv(name, value)
    runner = load_tool('train').main([CONFIG, '--work-dir', 'work', '--launcher', 'pytorch', '--cfg-options',
                                      'train_cfg.max_iters=1', 'default_hooks.checkpoint.interval=1',
                                      'train_dataloader.batch_size=2'])
    assert runner.iter == 1 and runner.distributed
    assert not dist.is_initialized()
    metrics = load_tool('test').main([CONFIG, 'work/iter_1.pth', '--work-dir', 'eval', '--launcher', 'pytorch'])
    assert 'coco/bbox_mAP' in metrics and not dist.is_initialized()
