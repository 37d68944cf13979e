"""What the scripts of tools/ share: mmdet's command-line options, loading a config the way mmdet's
tools do, and running mmengine 0.10.7's pytorch launcher on CPU processes (gloo)."""
import datetime
import os.path as osp

import torch


def add_runner_arguments(parser):
    """The options tools/train.py and tools/test.py share with mmdet's tools."""
    from mmengine.config import DictAction

    parser.add_argument('--work-dir', help='the dir to save logs, checkpoints and metrics')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, key=value (e.g. train_cfg.max_iters=100)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    # torchrun passes --local-rank (or sets LOCAL_RANK); accept both spellings.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(path, launcher='none', cfg_options=None, work_dir=None):
    """The config at ``path`` with the command line's overrides; the work dir defaults to
    ``./work_dirs/<config name>`` as in mmdet."""
    from mmengine.config import Config

    cfg = Config.fromfile(path)
    cfg.launcher = launcher
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    return cfg


def use_gloo_without_gpu(cfg) -> None:
    """Lets ``--launcher pytorch`` (tools/dist_train.sh, tools/dist_test.sh) run on a machine
    without a GPU: several CPU processes, one minibatch split between them.

    mmengine 0.10.7's pytorch launcher calls ``torch.cuda.set_device`` (which fails there with
    "Found no NVIDIA driver") and wraps the model for one GPU per process. Without CUDA this
    starts the process group itself with gloo, which mmengine then keeps, and wraps the model in
    ``MMDistributedDataParallel`` without device ids, as DDP needs for a CPU model. With a GPU it
    changes nothing.
    """
    if cfg.launcher == 'none' or torch.cuda.is_available():
        return
    if cfg.launcher != 'pytorch':
        raise ValueError(f'--launcher {cfg.launcher} needs a GPU per process; on a machine without '
                         'one use --launcher pytorch (tools/dist_train.sh, tools/dist_test.sh)')
    import torch.distributed as dist

    dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}), backend='gloo')
    cfg.setdefault('env_cfg', {})['dist_cfg'] = dist_cfg
    if not dist.is_initialized():
        init_args = {key: value for key, value in dist_cfg.items() if key == 'timeout'}
        if 'timeout' in init_args:
            init_args['timeout'] = datetime.timedelta(seconds=init_args['timeout'])
        dist.init_process_group(backend='gloo', **init_args)
    wrapper = dict(cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False)))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper


def close_process_group() -> None:
    """Destroys the default process group, if any, at the end of a run that finished.

    mmengine leaves it to the interpreter's exit; with gloo a worker thread can then still hold
    tensors while Python is torn down, and the process ends in SIGABRT ("terminate called without
    an active exception") after a run that succeeded. Not called after an error: destroying the
    group while another process is still inside a collective would hang.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        # Every process reaches here only after its run finished: wait for the others, so that no
        # gloo thread is still serving a peer when the group goes.
        dist.barrier()
        dist.destroy_process_group()
