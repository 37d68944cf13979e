from .ap_loss_retina_head import APLossRetinaHead
from .ap_loss_ssd_head import APLossSSDHead
from .whole_minibatch import WholeMinibatchLossMixin

__all__ = ['APLossRetinaHead', 'APLossSSDHead', 'WholeMinibatchLossMixin']
