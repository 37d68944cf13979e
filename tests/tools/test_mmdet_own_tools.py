"""mmdet's own tools (the scripts its wheel ships under mmdet/.mim/tools, as `mim train/test mmdet`
runs them) resume and test from checkpoints under torch's safe loader: the config's
custom_imports of mmdet_losses registers the exact allow-list; nothing switches the loader off."""
import os
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # trains or launches processes

mmdet = pytest.importorskip('mmdet', reason='needs mmdet')

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'configs' / 'demo' / 'retinanet_r18_fpn_aploss_1xb8-1100i_demo.py'
MMDET_TOOLS = Path(mmdet.__file__).parent / '.mim' / 'tools'


def test_mmdet_train_resume_and_test_load_our_checkpoints(demo_workspace, run_command):
    env = {key: value for key, value in os.environ.items() if key != 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'}
    options = ['train_dataloader.batch_size=4', 'train_cfg.val_interval=100', 'default_hooks.logger.interval=1',
               'default_hooks.checkpoint.interval=1', 'model.test_cfg.score_thr=0.0']
    train = [sys.executable, MMDET_TOOLS / 'train.py', CONFIG, '--work-dir', 'work']
    run_command([*train, '--cfg-options', 'train_cfg.max_iters=1', *options], demo_workspace, env)
    log = run_command([*train, '--resume', '--cfg-options', 'train_cfg.max_iters=2', *options], demo_workspace, env)
    assert 'resumed epoch: 0, iter: 1' in log, log[-3000:]
    assert (demo_workspace / 'work' / 'iter_2.pth').is_file()
    log = run_command([sys.executable, MMDET_TOOLS / 'test.py', CONFIG, 'work/iter_2.pth', '--work-dir', 'eval',
                       '--cfg-options', 'model.test_cfg.score_thr=0.0'], demo_workspace, env)
    assert 'coco/bbox_mAP_50' in log, log[-3000:]
