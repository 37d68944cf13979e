"""mmdet's own tools (the scripts its wheel ships under mmdet/.mim/tools, as `mim train/test mmdet`
runs them) resume and test from checkpoints under torch's safe loader: the config's
custom_imports of mmdet_losses registers the exact allow-list; nothing switches the loader off."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

mmdet = pytest.importorskip('mmdet', reason='needs mmdet')

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / 'configs' / 'demo' / 'retinanet_r18_aploss_demo.py')
MMDET_TOOLS = Path(mmdet.__file__).parent / '.mim' / 'tools'


def run(script, *args, cwd):
    env = {key: value for key, value in os.environ.items() if key != 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'}
    done = subprocess.run([sys.executable, str(MMDET_TOOLS / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    return done.stdout + done.stderr


def test_mmdet_train_resume_and_test_load_our_checkpoints(load_tool, tmp_path):
    load_tool('make_demo_data').main(['--out', str(tmp_path / 'data' / 'demo'), '--train', '8',
                                      '--val', '4', '--size', '96'])
    options = ['train_dataloader.batch_size=4', 'train_cfg.val_interval=100', 'default_hooks.logger.interval=1',
               'default_hooks.checkpoint.interval=1', 'model.test_cfg.score_thr=0.0']
    run('train.py', CONFIG, '--work-dir', 'work', '--cfg-options', 'train_cfg.max_iters=1', *options, cwd=tmp_path)
    log = run('train.py', CONFIG, '--work-dir', 'work', '--resume', '--cfg-options', 'train_cfg.max_iters=2',
              *options, cwd=tmp_path)
    assert 'resumed epoch: 0, iter: 1' in log, log[-3000:]
    assert (tmp_path / 'work' / 'iter_2.pth').is_file()
    log = run('test.py', CONFIG, 'work/iter_2.pth', '--work-dir', 'eval', '--cfg-options',
              'model.test_cfg.score_thr=0.0', cwd=tmp_path)
    assert 'coco/bbox_mAP_50' in log, log[-3000:]
