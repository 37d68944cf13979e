"""mmdet modules, registered in ``mmdet.registry.MODELS`` on import; importing this also makes
mmdet's heads rank their calls of a ranking loss as one (ranking_heads.py) and lets torch's safe
loader read mmengine's checkpoints (checkpoints.py)."""
from .checkpoints import allow_mmengine_checkpoints
from .heads import (ALRPATSSHead, ALRPBBoxHead, ALRPFoveaHead, ALRPRetinaHead, ALRPRPNHead, APLossRetinaHead,
                    APLossSSDHead, ConfigurableSSDHead, HarmonicRetinaHead, HarmonicSSDHead, RankSortATSSHead,
                    SigmoidSSDHead, ValueBalancedATSSHead, ValueBalancedBBoxHead, ValueBalancedDeformableDETRHead,
                    ValueBalancedDINOHead, ValueBalancedMaskHead,
                    ValueBalancedPAAHead, ValueBalancedRoIHead, ValueBalancedRPNHead, ValueBalancedSOLOV2Head,
                    ValueBalancedYOLACTHead, ValueBalancedYOLACTProtonet)
from .losses import (ALRPLoss, AnchorLoss, APLoss, AUCLoss, HarmonicIoULoss, RankingLoss, RankSortLoss, SelfBalance,
                     TwoWayLoss, UniLoss)
from .ranking_heads import RANKING_HEADS, RankingCalls, ranking_calls, register_ranking_head

allow_mmengine_checkpoints()

__all__ = ['ALRPATSSHead', 'ALRPBBoxHead', 'ALRPFoveaHead', 'ALRPLoss', 'ALRPRetinaHead', 'ALRPRPNHead',
           'AnchorLoss', 'APLoss', 'APLossRetinaHead', 'AUCLoss', 'APLossSSDHead',
           'ConfigurableSSDHead', 'HarmonicIoULoss', 'HarmonicRetinaHead', 'HarmonicSSDHead', 'RANKING_HEADS',
           'RankingCalls', 'RankingLoss', 'RankSortATSSHead', 'RankSortLoss', 'SelfBalance', 'SigmoidSSDHead',
           'TwoWayLoss', 'UniLoss', 'ValueBalancedATSSHead', 'ValueBalancedBBoxHead',
           'ValueBalancedDeformableDETRHead', 'ValueBalancedDINOHead', 'ValueBalancedMaskHead',
           'ValueBalancedPAAHead', 'ValueBalancedRoIHead', 'ValueBalancedRPNHead',
           'ValueBalancedSOLOV2Head', 'ValueBalancedYOLACTHead', 'ValueBalancedYOLACTProtonet', 'ranking_calls',
           'register_ranking_head']
