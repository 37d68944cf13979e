from .alrp_loss import ALRPLoss, SelfBalance
from .anchor_loss import AnchorLoss
from .ap_loss import APLoss
from .auc_loss import AUCLoss
from .harmonic_iou_loss import HarmonicIoULoss
from .rank_sort_loss import RankSortLoss
from .two_way_loss import TwoWayLoss
from .uniloss import UniLoss
from .ranking_loss import RankingLoss, ranking_targets

__all__ = ['ALRPLoss', 'AnchorLoss', 'APLoss', 'AUCLoss', 'HarmonicIoULoss', 'RankSortLoss', 'TwoWayLoss', 'UniLoss',
           'RankingLoss', 'SelfBalance', 'ranking_targets']
