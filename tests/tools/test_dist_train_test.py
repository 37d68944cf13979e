"""tools/dist_train.sh and tools/dist_test.sh with 2 CPU processes (gloo): mmengine's pytorch
launcher assumes a GPU; use_gloo_without_gpu lets the same commands run on a laptop."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip('mmdet', reason='training needs mmdet')

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / 'configs' / 'demo' / 'retinanet_r18_aploss_demo.py')


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def run_script(script, *args, cwd):
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()), CUDA_VISIBLE_DEVICES='')
    done = subprocess.run(['bash', str(ROOT / 'tools' / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=420)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-8000:]
    return done.stdout + done.stderr


def test_two_cpu_processes_train_and_evaluate(load_tool, tmp_path):
    load_tool('make_demo_data').main(['--out', str(tmp_path / 'data' / 'demo'), '--train', '16',
                                      '--val', '4', '--size', '96'])
    options = ['train_cfg.max_iters=3', 'train_cfg.val_interval=100', 'train_dataloader.batch_size=2',
               'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=3',
               'model.test_cfg.score_thr=0.0']
    log = run_script('dist_train.sh', CONFIG, '2', '--work-dir', 'work', '--cfg-options', *options,
                     cwd=tmp_path)
    assert (tmp_path / 'work' / 'iter_3.pth').is_file(), log[-3000:]
    # mmengine reports the world size it trained with.
    assert 'Distributed launcher: pytorch' in log and 'Distributed training: True' in log
    assert 'GPU number: 2' in log, log[-3000:]  # mmengine's name for the world size

    log = run_script('dist_test.sh', CONFIG, 'work/iter_3.pth', '2', '--work-dir', 'eval',
                     '--cfg-options', 'model.test_cfg.score_thr=0.0', cwd=tmp_path)
    assert 'coco/bbox_mAP_50' in log, log[-3000:]
