import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch


@pytest.fixture
def torchrun(tmp_path):
    """Runs a script under torchrun with N CPU processes (gloo), bounded in time, and returns the
    objects each process saved to OUT/rank<r>.pt (OUT is the script's first argument)."""
    def run(script, processes, *args, timeout=240):
        env = dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='')
        command = [sys.executable, '-m', 'torch.distributed.run', '--standalone',
                   f'--nproc_per_node={processes}', str(script), str(tmp_path), *map(str, args)]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
        return [torch.load(tmp_path / f'rank{r}.pt', weights_only=False) for r in range(processes)]
    return run


@pytest.fixture
def here():
    return Path(__file__).parent
