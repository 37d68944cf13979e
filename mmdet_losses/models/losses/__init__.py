from .ap_loss import APLoss

__all__ = ['APLoss']
