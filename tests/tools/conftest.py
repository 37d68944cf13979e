import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / 'tools'
# The scripts import their shared helpers (runner_setup.py) as siblings, as when run from tools/.
sys.path.insert(0, str(TOOLS))


@pytest.fixture(scope='session')
def load_tool():
    """Imports a script of tools/ (not a package) as a module: load_tool('train')."""
    def load(name):
        spec = importlib.util.spec_from_file_location(name, TOOLS / f'{name}.py')
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load


@pytest.fixture
def demo_workspace(load_tool, tmp_path, monkeypatch):
    """A folder holding a small demo dataset at data/demo/, the config's data root, as cwd."""
    load_tool('make_demo_data').main(['--out', str(tmp_path / 'data' / 'demo'), '--train', '16',
                                      '--val', '4', '--size', '96'])
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def run_command():
    """Runs a command (a list) in ``cwd``, bounded in time; a non-zero exit fails the test with the
    tail of its output. Returns stdout and stderr together."""
    def run(command, cwd, env=None, timeout=420):
        done = subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=timeout)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
        return done.stdout + done.stderr
    return run
