from .alrp_atss_head import ALRPATSSHead
from .alrp_bbox_head import ALRPBBoxHead
from .alrp_fovea_head import ALRPFoveaHead
from .alrp_retina_head import ALRPRetinaHead
from .alrp_rpn_head import ALRPRPNHead
from .ap_loss_retina_head import APLossRetinaHead
from .configurable_ssd_head import ConfigurableSSDHead
from .harmonic import HarmonicLossMixin
from .harmonic_retina_head import HarmonicRetinaHead
from .harmonic_ssd_head import HarmonicSSDHead
from .sigmoid_ssd_head import APLossSSDHead, SigmoidSSDHead
from .value_balanced_atss_head import RankSortATSSHead, ValueBalancedATSSHead
from .value_balanced_bbox_head import ValueBalancedBBoxHead
from .value_balanced_detr import ValueBalancedDeformableDETRHead, ValueBalancedDINOHead
from .value_balanced_mask import ValueBalancedMaskHead, ValueBalancedRoIHead
from .value_balanced_paa_head import ValueBalancedPAAHead
from .value_balanced_rpn_head import ValueBalancedRPNHead
from .value_balanced_solov2_head import ValueBalancedSOLOV2Head
from .value_balanced_yolact import ValueBalancedYOLACTHead, ValueBalancedYOLACTProtonet

__all__ = ['ALRPATSSHead', 'ALRPBBoxHead', 'ALRPFoveaHead', 'ALRPRetinaHead', 'ALRPRPNHead', 'APLossRetinaHead',
           'APLossSSDHead', 'ConfigurableSSDHead', 'HarmonicLossMixin', 'HarmonicRetinaHead', 'HarmonicSSDHead',
           'RankSortATSSHead', 'SigmoidSSDHead', 'ValueBalancedATSSHead', 'ValueBalancedBBoxHead',
           'ValueBalancedDeformableDETRHead', 'ValueBalancedDINOHead',
           'ValueBalancedMaskHead', 'ValueBalancedPAAHead', 'ValueBalancedRoIHead', 'ValueBalancedRPNHead',
           'ValueBalancedSOLOV2Head', 'ValueBalancedYOLACTHead', 'ValueBalancedYOLACTProtonet']
