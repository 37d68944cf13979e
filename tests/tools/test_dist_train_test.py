"""tools/dist_train.sh and tools/dist_test.sh with 2 CPU processes (gloo): mmengine's pytorch
launcher assumes a GPU; use_gloo_without_gpu lets the same commands run on a laptop."""
import os
import socket
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # trains or launches processes

pytest.importorskip('mmdet', reason='training needs mmdet')

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'configs' / 'demo' / 'retinanet_r18_fpn_aploss_1xb8-1100i_demo.py'


def script_env():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    return dict(os.environ, PYTHON=sys.executable, PORT=str(port), CUDA_VISIBLE_DEVICES='')


def test_two_cpu_processes_train_and_evaluate(demo_workspace, run_command):
    options = ['train_cfg.max_iters=3', 'train_cfg.val_interval=100', 'train_dataloader.batch_size=2',
               'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=3',
               'model.test_cfg.score_thr=0.0']
    log = run_command(['bash', ROOT / 'tools' / 'dist_train.sh', CONFIG, 2, '--work-dir', 'work',
                       '--cfg-options', *options], demo_workspace, script_env())
    assert (demo_workspace / 'work' / 'iter_3.pth').is_file(), log[-3000:]
    assert 'Distributed launcher: pytorch' in log and 'Distributed training: True' in log
    assert 'GPU number: 2' in log, log[-3000:]  # mmengine's name for the world size

    log = run_command(['bash', ROOT / 'tools' / 'dist_test.sh', CONFIG, 'work/iter_3.pth', 2, '--work-dir',
                       'eval', '--cfg-options', 'model.test_cfg.score_thr=0.0'], demo_workspace, script_env())
    assert 'coco/bbox_mAP_50' in log, log[-3000:]
