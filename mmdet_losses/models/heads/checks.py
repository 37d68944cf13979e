from typing import List

from torch import Tensor

from ...functional.checks import check_finite


def check_predictions(head, cls_scores: List[Tensor], bbox_preds: List[Tensor]) -> None:
    """A ValueError naming the head, the level and the first non-finite value of its predictions:
    a diverged model stops at the step that diverged instead of training on NaN."""
    name = f'{type(head).__name__}.loss_by_feat'
    for argument, levels in (('cls_scores', cls_scores), ('bbox_preds', bbox_preds)):
        for level, prediction in enumerate(levels):
            check_finite(name, f'{argument}[{level}]', prediction)
