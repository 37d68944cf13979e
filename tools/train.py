"""Trains a detector from an mmdet config with mmdet_losses registered (mmdet's command line).

    python tools/train.py configs/demo/retinanet_r18_fpn_aploss_1xb8-1100i_demo.py --work-dir work_dirs/demo/aploss
    python tools/train.py CONFIG --resume                 # continue from the latest checkpoint
    python tools/train.py CONFIG --cfg-options train_cfg.max_iters=100
"""
import argparse

from mmengine.runner import Runner

import mmdet_losses  # noqa: F401  (registers the losses and heads; lets torch.load read checkpoints)
from runner_setup import add_runner_arguments, close_process_group, load_config, use_gloo_without_gpu


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    add_runner_arguments(parser)
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the actual batch size (auto_scale_lr)')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from this checkpoint, or without a path from the latest one '
                             'in the work dir')
    return parser.parse_args(argv)


def build_config(args):
    cfg = load_config(args.config, args.launcher, args.cfg_options, args.work_dir)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise RuntimeError(f'--auto-scale-lr: {args.config} has no auto_scale_lr.base_batch_size')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = build_config(args)
    use_gloo_without_gpu(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()
    close_process_group()
    return runner


if __name__ == '__main__':
    main()
