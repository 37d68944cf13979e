"""mmengine hooks, registered in ``mmdet.registry.HOOKS`` on import."""
from .self_balance_hook import ALRPSelfBalanceHook

__all__ = ['ALRPSelfBalanceHook']
