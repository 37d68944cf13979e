"""Builds mmdet_losses with its ranking op: the CPU kernel always, the CUDA kernel when nvcc is
found (FORCE_CUDA=1 requires it, FORCE_CUDA=0 skips it). Build against the installed torch:
``pip install --no-build-isolation -e .``."""
import os
import re
import shutil
import subprocess
from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).resolve().parent
CSRC = Path('mmdet_losses') / 'ops' / 'csrc'
# nvcc 13 builds sm_75 and newer; +PTX lets newer GPUs JIT the kernel.
RELEASE_ARCHS = '7.5;8.0;8.6;8.9;9.0;10.0;12.0+PTX'


def version():
    text = (ROOT / 'mmdet_losses' / 'version.py').read_text()
    return re.search(r"__version__ = '([^']+)'", text).group(1)


def cuda_home():
    """The CUDA toolkit root: $CUDA_HOME, else the root nvcc reports for itself. The nvcc on PATH
    may be a wrapper script outside the toolkit, from which torch would guess a wrong root."""
    if os.environ.get('CUDA_HOME'):
        return os.environ['CUDA_HOME']
    nvcc = shutil.which('nvcc')
    if nvcc is None:
        return None
    probe = subprocess.run([nvcc, '--dryrun', '-x', 'cu', '-c', os.devnull, '-o', os.devnull],
                           capture_output=True, text=True)
    match = re.search(r'^#\$ TOP=(.+)$', probe.stdout + probe.stderr, re.MULTILINE)
    return str(Path(match.group(1).strip()).resolve()) if match else None


FORCE_CUDA = os.environ.get('FORCE_CUDA')
CUDA_HOME = cuda_home() if FORCE_CUDA != '0' else None
if FORCE_CUDA == '1' and CUDA_HOME is None:
    raise RuntimeError('FORCE_CUDA=1 but no CUDA toolkit was found: put nvcc on PATH or set CUDA_HOME')
if CUDA_HOME is not None:
    # torch.utils.cpp_extension takes the toolkit root from here when it is imported.
    os.environ['CUDA_HOME'] = CUDA_HOME

from torch.utils.cpp_extension import BuildExtension, CppExtension, CUDAExtension  # noqa: E402


def extension():
    sources = [str(CSRC / 'ap_rank.cpp'), str(CSRC / 'cpu' / 'ap_rank_cpu.cpp'),
               str(CSRC / 'cpu' / 'ap_rank_cpu_avx2.cpp')]
    # at::parallel_for is a header template: without -fopenmp here it silently runs on one thread.
    # The kernels use C++20, which torch < 2.13 does not pass by default.
    cxx_flags = ['-O3', '-fopenmp', '-std=c++20']
    if CUDA_HOME is None:
        print('mmdet_losses: building the CPU kernel only (no nvcc found, or FORCE_CUDA=0)')
        return CppExtension('mmdet_losses._C', sources, extra_compile_args={'cxx': cxx_flags},
                            extra_link_args=['-fopenmp'])
    # Without a visible GPU torch cannot pick architectures (and crashes doing so).
    os.environ.setdefault('TORCH_CUDA_ARCH_LIST', RELEASE_ARCHS)
    print(f'mmdet_losses: building the CPU and CUDA kernels (CUDA at {CUDA_HOME}, '
          f'architectures {os.environ["TORCH_CUDA_ARCH_LIST"]})')
    return CUDAExtension(
        'mmdet_losses._C',
        sources + [str(CSRC / 'cuda' / 'ap_rank_cuda.cu')],
        define_macros=[('WITH_CUDA', None)],
        extra_compile_args={'cxx': cxx_flags, 'nvcc': ['-O3', '-std=c++20']},
        extra_link_args=['-fopenmp'],
    )


setup(
    name='mmdet-losses',
    version=version(),
    description='AP-Loss, Harmonic, Anchor, Two-way and UniLoss detection losses for MMDetection 3.x',
    long_description=(ROOT / 'README.md').read_text(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.9',
    packages=find_packages(include=['mmdet_losses', 'mmdet_losses.*']),
    install_requires=['torch'],
    extras_require={'mmdet': ['mmdet>=3.0,<3.4', 'mmengine>=0.10', 'mmcv>=2.0.0rc4,<2.2.0']},
    ext_modules=[extension()],
    cmdclass={'build_ext': BuildExtension},
    zip_safe=False,
)
