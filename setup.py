"""Builds mmdet_losses with its ranking ops: the CPU kernels always, the CUDA kernel when nvcc is
found (FORCE_CUDA=1 requires it, FORCE_CUDA=0 skips it). The op is built against the torch that is
installed, so build without isolation: ``pip install --no-build-isolation -e .``.

The functions above the ``__main__`` block choose the toolkit and the CUDA architectures; they run
nothing at import, so that tests can drive them."""
import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CSRC = Path('mmdet_losses') / 'ops' / 'csrc'
# The kernels are C++20, which nvcc accepts from CUDA 12 on.
OLDEST_NVCC_MAJOR = 12
# torch.library.register_fake and register_autograd, which the ops' Python side uses.
TORCH_FLOOR = '2.4'


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


def nvcc_release(nvcc):
    """(major, minor) of the CUDA release that ``nvcc --version`` reports."""
    output = subprocess.run([nvcc, '--version'], capture_output=True, text=True).stdout
    match = re.search(r'release (\d+)\.(\d+)', output)
    if match is None:
        raise SystemExit(f'mmdet_losses: cannot read the CUDA release from `{nvcc} --version`:\n{output}')
    return int(match.group(1)), int(match.group(2))


def arch_number(name):
    """'sm_86' or 'compute_120' -> (8, 6) or (12, 0); None for a family-specific arch (sm_90a)."""
    match = re.fullmatch(r'(?:sm|compute)_(\d+)(\d)', name.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def nvcc_archs(nvcc):
    """The architectures ``nvcc --list-gpu-arch`` can compile for."""
    output = subprocess.run([nvcc, '--list-gpu-arch'], capture_output=True, text=True).stdout
    return {arch for arch in map(arch_number, output.split()) if arch is not None}


def cuda_arch_list(nvcc):
    """The TORCH_CUDA_ARCH_LIST to build with: the variable itself if set, else the visible GPUs,
    else every architecture that both the installed torch was built for and ``nvcc`` compiles,
    with PTX for the highest so that newer GPUs can compile it on the fly. Stops the build when
    nvcc cannot build the kernels (older than CUDA 12: no C++20) or belongs to another CUDA major
    release than torch (the op would not load)."""
    import torch

    major, minor = nvcc_release(nvcc)
    if major < OLDEST_NVCC_MAJOR:
        raise SystemExit(f'mmdet_losses: nvcc {major}.{minor} ({nvcc}) is too old: the CUDA kernel is '
                         f'C++20, which needs CUDA {OLDEST_NVCC_MAJOR} or newer. Put a newer toolkit first '
                         'on PATH (or set CUDA_HOME), or build the CPU kernels only with FORCE_CUDA=0.')
    torch_major = int(torch.version.cuda.split('.')[0])
    if major != torch_major:
        raise SystemExit(f'mmdet_losses: nvcc {major}.{minor} ({nvcc}) and torch {torch.__version__} '
                         f'(CUDA {torch.version.cuda}) belong to different CUDA releases; the op would not '
                         f'load. Use a CUDA {torch_major}.x toolkit (PATH or CUDA_HOME), or build the CPU '
                         'kernels only with FORCE_CUDA=0.')
    if os.environ.get('TORCH_CUDA_ARCH_LIST'):
        return os.environ['TORCH_CUDA_ARCH_LIST']
    compilable = nvcc_archs(nvcc)
    if torch.cuda.is_available() and torch.cuda.device_count() > 0:
        archs = {torch.cuda.get_device_capability(i) for i in range(torch.cuda.device_count())}
        missing = archs - compilable
        if missing:
            names = ', '.join(f'{a}.{b}' for a, b in sorted(missing))
            raise SystemExit(f'mmdet_losses: nvcc {major}.{minor} ({nvcc}) cannot compile for the visible '
                             f'GPU architecture(s) {names}: use a newer toolkit, or set TORCH_CUDA_ARCH_LIST.')
        source = 'the visible GPUs'
    else:
        built_for = {arch for arch in map(arch_number, torch.cuda.get_arch_list()) if arch is not None}
        archs = built_for & compilable
        if not archs:
            raise SystemExit(f'mmdet_losses: torch {torch.__version__} was built for '
                             f'{torch.cuda.get_arch_list()}, none of which nvcc {major}.{minor} ({nvcc}) '
                             'compiles: set TORCH_CUDA_ARCH_LIST, or build with FORCE_CUDA=0.')
        source = f'both torch and nvcc {major}.{minor}'
    names = [f'{a}.{b}' for a, b in sorted(archs)]
    names[-1] += '+PTX'
    print(f'mmdet_losses: CUDA architectures of {source}: {";".join(names)}')
    return ';'.join(names)


def extension(home, force_cuda):
    """The extension to build, with the CUDA kernel when ``home`` (the toolkit root) is set and the
    installed torch has CUDA."""
    import torch
    from torch.utils.cpp_extension import CppExtension, CUDAExtension

    sources = [str(CSRC / 'ap_rank.cpp'), str(CSRC / 'cpu' / 'ap_rank_cpu.cpp'),
               str(CSRC / 'cpu' / 'ap_rank_cpu_avx2.cpp'), str(CSRC / 'cpu' / 'rank_sort_cpu.cpp')]
    # at::parallel_for is a header template: without -fopenmp here it silently runs on one thread.
    # The kernels use C++20, which torch < 2.13 does not pass by default.
    cxx_flags = ['-O3', '-fopenmp', '-std=c++20']
    if home is not None and torch.version.cuda is None:
        if force_cuda == '1':
            raise SystemExit(f'mmdet_losses: FORCE_CUDA=1, but torch {torch.__version__} has no CUDA')
        home = None
    if home is None:
        if force_cuda == '1':
            raise SystemExit('mmdet_losses: FORCE_CUDA=1 but no CUDA toolkit was found: put nvcc on PATH '
                             'or set CUDA_HOME')
        print('mmdet_losses: building the CPU kernels only (no nvcc or no CUDA torch found, or FORCE_CUDA=0)')
        return CppExtension('mmdet_losses._C', sources, extra_compile_args={'cxx': cxx_flags},
                            extra_link_args=['-fopenmp'])
    os.environ['TORCH_CUDA_ARCH_LIST'] = cuda_arch_list(str(Path(home) / 'bin' / 'nvcc'))
    print(f'mmdet_losses: building the CPU and CUDA kernels (CUDA at {home})')
    return CUDAExtension(
        'mmdet_losses._C',
        sources + [str(CSRC / 'cuda' / 'ap_rank_cuda.cu'), str(CSRC / 'cuda' / 'rank_sort_cuda.cu')],
        define_macros=[('WITH_CUDA', None)],
        extra_compile_args={'cxx': cxx_flags, 'nvcc': ['-O3', '-std=c++20']},
        extra_link_args=['-fopenmp'],
    )


if __name__ == '__main__':
    from setuptools import find_packages, setup
    try:
        import torch  # noqa: F401
    except ImportError:
        raise SystemExit(
            'mmdet_losses builds its C++/CUDA ops against the installed torch, and this build environment '
            f'has none. Install torch (>= {TORCH_FLOOR}) first, then build without build isolation, e.g. '
            '`pip install --no-build-isolation -e .`: an isolated build would fetch the newest torch and '
            'build the ops for the wrong ABI.') from None
    force_cuda = os.environ.get('FORCE_CUDA')
    home = cuda_home() if force_cuda != '0' else None
    if home is not None:
        # torch.utils.cpp_extension takes the toolkit root from here when it is imported.
        os.environ['CUDA_HOME'] = home
    from torch.utils.cpp_extension import BuildExtension

    setup(
        name='mmdet-losses',
        version=version(),
        description='AP-Loss, Rank & Sort, Harmonic, Anchor, Two-way and UniLoss detection losses for '
                    'MMDetection 3.x',
        long_description=(ROOT / 'README.md').read_text(),
        long_description_content_type='text/markdown',
        license='Apache-2.0',
        python_requires='>=3.9',
        packages=find_packages(include=['mmdet_losses', 'mmdet_losses.*']),
        install_requires=[f'torch>={TORCH_FLOOR}'],
        extras_require={'mmdet': ['mmdet>=3.0,<3.4', 'mmengine>=0.10', 'mmcv>=2.0.0rc4,<2.2.0']},
        ext_modules=[extension(home, force_cuda)],
        cmdclass={'build_ext': BuildExtension},
        zip_safe=False,
    )
