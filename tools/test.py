"""Evaluates a trained detector from an mmdet config and checkpoint with mmdet_losses registered
(mmdet's command line).

    python tools/test.py configs/demo/retinanet_r18_fpn_aploss_1xb8-1100i_demo.py work_dirs/demo/aploss/iter_1100.pth
    python tools/test.py CONFIG CHECKPOINT --out results.pkl --show-dir vis
"""
import argparse

from mmengine.runner import Runner

import mmdet_losses  # noqa: F401  (registers the losses and heads; lets torch.load read checkpoints)
from runner_setup import add_runner_arguments, close_process_group, load_config, use_gloo_without_gpu


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    add_runner_arguments(parser)
    parser.add_argument('--out', help='dump the predictions to this pickle file for offline evaluation')
    parser.add_argument('--show-dir', help='draw predicted boxes into this folder under the work dir')
    return parser.parse_args(argv)


def build_config(args):
    cfg = load_config(args.config, args.launcher, args.cfg_options, args.work_dir)
    cfg.load_from = args.checkpoint
    if args.show_dir is not None:
        visualization = cfg.default_hooks.setdefault('visualization', dict(type='DetVisualizationHook'))
        visualization.update(draw=True, test_out_dir=args.show_dir)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must name a .pkl or .pickle file, got {args.out!r}')
        cfg.test_evaluator = [*(cfg.test_evaluator if isinstance(cfg.test_evaluator, list)
                                else [cfg.test_evaluator]),
                              dict(type='DumpDetResults', out_file_path=args.out)]
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = build_config(args)
    use_gloo_without_gpu(cfg)
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    close_process_group()
    return metrics


if __name__ == '__main__':
    main()
