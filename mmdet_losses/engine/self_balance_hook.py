from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from ..models.losses.alrp_loss import SelfBalance


@HOOKS.register_module()
class ALRPSelfBalanceHook(Hook):
    """Updates every ``SelfBalance`` weight of the model (the aLRP heads') at the end of each epoch
    of the run's own schedule: after each epoch of an epoch-based run, and every
    ``len(train_dataloader)`` iterations of an iteration-based one (the authors' code hard-codes
    3665 iterations, one COCO epoch at 32 images). It runs before ``CheckpointHook`` (priority
    NORMAL against VERY_LOW), so the checkpoint of an epoch holds the weight that the next epoch
    trains with.

    Config::

        custom_hooks = [dict(type='ALRPSelfBalanceHook')]
    """

    priority = 'NORMAL'

    def after_train_epoch(self, runner) -> None:
        if isinstance(runner.train_loop, EpochBasedTrainLoop):
            update_self_balance(runner.model)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not isinstance(runner.train_loop, EpochBasedTrainLoop) and (
                (runner.iter + 1) % len(runner.train_dataloader) == 0):
            update_self_balance(runner.model)


def update_self_balance(model) -> None:
    for module in model.modules():
        if isinstance(module, SelfBalance):
            module.update()
