from .ap_loss_retina_head import APLossRetinaHead

__all__ = ['APLossRetinaHead']
