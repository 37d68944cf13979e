"""Pure-PyTorch loss functions, one module per loss family; no mmdet import."""
from .alrp import alrp_loss, alrp_loss_reference
from .anchor_loss import anchor_loss
from .ap_loss import ap_loss, ap_loss_reference
from .auc_loss import auc_loss
from .harmonic import aligned_iou, harmonic_loss, harmonic_terms, hiou_loss
from .rank_sort import rank_sort_loss, rank_sort_loss_reference
from .two_way import two_way_loss
from .uniloss import uniloss

__all__ = ['alrp_loss', 'alrp_loss_reference', 'anchor_loss', 'ap_loss', 'ap_loss_reference', 'auc_loss', 'aligned_iou', 'harmonic_loss',
           'harmonic_terms', 'hiou_loss', 'rank_sort_loss', 'rank_sort_loss_reference', 'two_way_loss',
           'uniloss']
