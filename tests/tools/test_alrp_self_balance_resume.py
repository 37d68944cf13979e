"""aLRP's self-balance weight across an interrupted run: a run stopped after 2 of 3 epochs with a
checkpoint and resumed (tools/train.py --resume) ends with the weight, the parameters and the losses
of the run that was not interrupted, for an epoch-based and an iteration-based loop."""
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow  # trains

pytest.importorskip('mmdet', reason='training needs mmdet')

from mmengine.config import Config  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'configs' / 'alrp' / 'retinanet_r18_fpn_alrp_1xb8-1100i_demo.py'
IMAGES, BATCH = 16, 4  # demo_workspace's training images; 4 iterations per epoch


def deterministic_config(tmp_path, epoch_based):
    """The demo config with a fixed data order and no random augmentation, 3 epochs long, a
    checkpoint at every epoch's end."""
    cfg = Config.fromfile(CONFIG)
    per_epoch = IMAGES // BATCH
    cfg.train_dataloader.batch_size = BATCH
    cfg.train_dataloader.dataset.pipeline = [step for step in cfg.train_dataloader.dataset.pipeline
                                             if step['type'] != 'RandomFlip']
    if epoch_based:
        cfg.train_dataloader.sampler = dict(type='DefaultSampler', shuffle=False)
        cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=3, val_interval=100)
        cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=True, interval=1)
        cfg.log_processor = dict(by_epoch=True)
    else:
        cfg.train_dataloader.sampler = dict(type='InfiniteSampler', shuffle=False)
        cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=3 * per_epoch, val_interval=100)
        cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=per_epoch)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1, log_metric_by_epoch=epoch_based)
    # mmengine keeps one visualizer per name in a process, writing where its first run wrote: a name
    # of its own leaves the other tests' runs their folders.
    cfg.visualizer.name = f'alrp_resume_{epoch_based}'
    path = tmp_path / ('epochs.py' if epoch_based else 'iterations.py')
    cfg.dump(str(path))
    return str(path), per_epoch


def losses_of(runner):
    """The run's per-iteration training losses, from its message hub (a resumed run's hub holds
    those of the iterations before it, restored from the checkpoint)."""
    return [runner.message_hub.get_scalar(f'train/{key}').data[0] for key in ('loss_cls', 'loss_bbox')]


@pytest.mark.parametrize('epoch_based', [True, False], ids=['epochs', 'iterations'])
def test_resumed_run_ends_as_the_uninterrupted_one(load_tool, demo_workspace, epoch_based):
    train = load_tool('train')
    config, per_epoch = deterministic_config(demo_workspace, epoch_based)
    whole = train.main([config, '--work-dir', str(demo_workspace / 'whole')])
    stop = 'train_cfg.max_epochs=2' if epoch_based else f'train_cfg.max_iters={2 * per_epoch}'
    train.main([config, '--work-dir', str(demo_workspace / 'parts'), '--cfg-options', stop])
    resumed = train.main([config, '--work-dir', str(demo_workspace / 'parts'), '--resume'])

    balance = whole.model.bbox_head.self_balance
    assert balance.weight.item() != 50  # updated at the ends of epochs 1, 2 and 3
    torch.testing.assert_close(resumed.model.bbox_head.self_balance.weight, balance.weight, rtol=1e-6, atol=0)
    for (name, value), resumed_value in zip(whole.model.state_dict().items(), resumed.model.state_dict().values()):
        torch.testing.assert_close(resumed_value, value, rtol=1e-4, atol=1e-6, msg=name)
    for expected, got in zip(losses_of(whole), losses_of(resumed)):
        assert len(expected) == 3 * per_epoch
        torch.testing.assert_close(torch.as_tensor(got), torch.as_tensor(expected), rtol=1e-4, atol=1e-7)
