"""setup.py's choice of CUDA architectures, driven by a fake nvcc on PATH that answers what the
build asks a real one: ``--dryrun`` (the toolkit root), ``--version`` and ``--list-gpu-arch``."""
import importlib.util
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]

# What `nvcc --list-gpu-arch` lists, per release (compute_90a and the like are family-specific).
NVCC_ARCHS = {
    '11.8': '35 37 50 52 53 60 61 62 70 72 75 80 86 87 89 90',
    '12.4': '50 52 53 60 61 62 70 72 75 80 86 87 89 90 90a',
    '12.8': '50 52 53 60 61 62 70 72 75 80 86 87 89 90 90a 100 100a 101 101a 120 120a',
    '13.0': '75 80 86 87 88 89 90 90a 100 100a 110 103 120 121',
}
# torch.cuda.get_arch_list() of release builds for CUDA 12.6, 12.8 and 13.0.
TORCH_CU126 = ['sm_50', 'sm_60', 'sm_70', 'sm_75', 'sm_80', 'sm_86', 'sm_90']
TORCH_CU128 = ['sm_75', 'sm_80', 'sm_86', 'sm_90', 'sm_100', 'sm_120']
TORCH_CU130 = ['sm_75', 'sm_80', 'sm_86', 'sm_90', 'sm_100', 'sm_120']


@pytest.fixture(scope='module')
def setup_py():
    spec = importlib.util.spec_from_file_location('mmdet_losses_setup', ROOT / 'setup.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # defines the functions; setup() runs only as __main__
    return module


def fake_toolkit(folder, release):
    """A toolkit root holding bin/nvcc for ``release``; returns the root."""
    home = folder / f'cuda-{release}'
    (home / 'bin').mkdir(parents=True)
    nvcc = home / 'bin' / 'nvcc'
    archs = ' '.join(f'compute_{arch}' for arch in NVCC_ARCHS[release].split())
    nvcc.write_text(f'''#!/bin/sh
case "$1" in
  --version) printf 'nvcc: NVIDIA (R) Cuda compiler driver\\nCuda compilation tools, release {release}, V{release}.1\\n' ;;
  --list-gpu-arch) for arch in {archs}; do echo $arch; done ;;
  --dryrun) echo '#$ TOP={home}/bin/..' >&2 ;;
  *) exit 1 ;;
esac
''')
    nvcc.chmod(nvcc.stat().st_mode | stat.S_IEXEC)
    return home


@pytest.fixture
def toolkit(tmp_path, monkeypatch):
    """Puts a fake nvcc of the given release first on PATH, torch built for ``torch_cuda`` with
    ``torch_archs`` and the given visible GPUs; returns the nvcc that setup.py settles on."""
    monkeypatch.delenv('CUDA_HOME', raising=False)
    monkeypatch.delenv('TORCH_CUDA_ARCH_LIST', raising=False)

    def install(release, torch_cuda, torch_archs, gpus=()):
        home = fake_toolkit(tmp_path, release)
        monkeypatch.setenv('PATH', f'{home / "bin"}{os.pathsep}{os.environ["PATH"]}')
        monkeypatch.setattr(torch.version, 'cuda', torch_cuda)
        monkeypatch.setattr(torch.cuda, 'get_arch_list', lambda: list(torch_archs))
        monkeypatch.setattr(torch.cuda, 'is_available', lambda: bool(gpus))
        monkeypatch.setattr(torch.cuda, 'device_count', lambda: len(gpus))
        monkeypatch.setattr(torch.cuda, 'get_device_capability', lambda index=0: gpus[index])
        return home
    return install


def chosen_archs(setup_py, home):
    found = setup_py.cuda_home()
    assert Path(found) == home.resolve()
    return setup_py.cuda_arch_list(str(Path(found) / 'bin' / 'nvcc'))


@pytest.mark.parametrize('release, torch_cuda, torch_archs, expected', [
    ('12.4', '12.6', TORCH_CU126, '5.0;6.0;7.0;7.5;8.0;8.6;9.0+PTX'),  # sm_70 kept: V100s
    ('12.4', '12.8', TORCH_CU128, '7.5;8.0;8.6;9.0+PTX'),  # no 10.0 / 12.0 before nvcc 12.8
    ('12.8', '12.8', TORCH_CU128, '7.5;8.0;8.6;9.0;10.0;12.0+PTX'),
    ('13.0', '13.0', TORCH_CU130, '7.5;8.0;8.6;9.0;10.0;12.0+PTX'),
])
def test_without_a_gpu_builds_what_torch_and_nvcc_share(setup_py, toolkit, release, torch_cuda,
                                                        torch_archs, expected):
    assert chosen_archs(setup_py, toolkit(release, torch_cuda, torch_archs)) == expected


def test_the_visible_gpus_come_before_torchs_list(setup_py, toolkit):
    home = toolkit('12.8', '12.8', TORCH_CU128, gpus=[(9, 0), (8, 0), (9, 0)])
    assert chosen_archs(setup_py, home) == '8.0;9.0+PTX'


def test_a_gpu_that_nvcc_cannot_compile_for_stops_the_build(setup_py, toolkit):
    home = toolkit('12.4', '12.8', TORCH_CU128, gpus=[(10, 0)])
    with pytest.raises(SystemExit, match=r'nvcc 12\.4 .* cannot compile for the visible GPU architecture\(s\) 10\.0'):
        chosen_archs(setup_py, home)


def test_torch_cuda_arch_list_wins(setup_py, toolkit, monkeypatch):
    home = toolkit('13.0', '13.0', TORCH_CU130, gpus=[(9, 0)])
    monkeypatch.setenv('TORCH_CUDA_ARCH_LIST', '8.9')
    assert chosen_archs(setup_py, home) == '8.9'


@pytest.mark.parametrize('arch_list', [None, '7.0'])
def test_nvcc_11_is_too_old_for_cxx20(setup_py, toolkit, monkeypatch, arch_list):
    home = toolkit('11.8', '11.8', ['sm_70', 'sm_80'])
    if arch_list:
        monkeypatch.setenv('TORCH_CUDA_ARCH_LIST', arch_list)
    with pytest.raises(SystemExit, match=r'nvcc 11\.8 .* too old: .*C\+\+20.*FORCE_CUDA=0'):
        chosen_archs(setup_py, home)


@pytest.mark.parametrize('release, torch_cuda', [('12.8', '13.0'), ('13.0', '12.8')])
def test_nvcc_of_another_cuda_major_than_torch_stops_the_build(setup_py, toolkit, release, torch_cuda):
    home = toolkit(release, torch_cuda, TORCH_CU128)
    with pytest.raises(SystemExit, match=rf'nvcc {release} .*CUDA {torch_cuda}\).*different CUDA releases'):
        chosen_archs(setup_py, home)


def test_cuda_home_wins_over_path(setup_py, toolkit, tmp_path, monkeypatch):
    toolkit('12.4', '12.8', TORCH_CU128)
    other = fake_toolkit(tmp_path / 'elsewhere', '12.8')
    monkeypatch.setenv('CUDA_HOME', str(other))
    assert setup_py.cuda_home() == str(other)
    assert setup_py.cuda_arch_list(str(other / 'bin' / 'nvcc')) == '7.5;8.0;8.6;9.0;10.0;12.0+PTX'


def test_without_torch_the_build_says_to_build_without_isolation():
    hide_torch = ("import runpy, sys; sys.modules['torch'] = None; sys.argv = ['setup.py', 'build_ext']; "
                  "runpy.run_path('setup.py', run_name='__main__')")
    done = subprocess.run([sys.executable, '-c', hide_torch], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode != 0
    assert 'has none' in done.stderr and 'pip install --no-build-isolation' in done.stderr, done.stderr
