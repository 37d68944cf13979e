"""The checkpoint allow-list for torch's safe loader is an effect of the mmdet side alone: importing
``mmdet_losses.models`` (what ``custom_imports`` loads) adds mmengine's checkpoint globals, while
``mmdet_losses.functional`` and ``mmdet_losses.ops`` leave torch's list as it was. Each import runs
in a fresh interpreter."""
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip('mmdet')


def allowed_after(imports, hide_mmdet):
    hide = "import sys; sys.modules.update(mmdet=None, mmengine=None)\n" if hide_mmdet else ''
    code = hide + textwrap.dedent(f'''
        import torch
        before = set(map(str, torch.serialization.get_safe_globals()))
        {imports}
        print(sorted(set(map(str, torch.serialization.get_safe_globals())) - before))
    ''')
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_functional_and_ops_leave_the_safe_loader_alone_without_mmdet():
    assert allowed_after('import mmdet_losses.functional, mmdet_losses.ops, mmdet_losses', hide_mmdet=True) == '[]'


def test_the_mmdet_side_allows_mmengines_checkpoint_globals():
    added = allowed_after('import mmdet_losses.models', hide_mmdet=False)
    assert 'HistoryBuffer' in added and 'ndarray' in added, added
