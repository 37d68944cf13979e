"""Without the compiled library (a failed or CPU-less build, a wheel built for another torch), the
pure-PyTorch losses import and run, and the ranking losses say how to build it when called or
built. Each check runs in a fresh interpreter in which ``mmdet_losses._C`` cannot be imported."""
import subprocess
import sys
import textwrap
from importlib.util import find_spec

import pytest

HIDE_EXTENSION = "import sys; sys.modules['mmdet_losses._C'] = None  # import fails as for a missing build\n"


def run_without_extension(code):
    done = subprocess.run([sys.executable, '-c', HIDE_EXTENSION + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_pure_pytorch_losses_run_and_ranking_losses_name_the_fix():
    output = run_without_extension('''
        import torch
        from mmdet_losses.functional import (anchor_loss, ap_loss, auc_loss, harmonic_loss, hiou_loss,
                                             rank_sort_loss, two_way_loss, uniloss)
        from mmdet_losses.ops import ap_rank, cuda_kernel_compiled, false_positive_sums

        logits = torch.randn(6, 4, requires_grad=True)
        one_hot = torch.nn.functional.one_hot(torch.tensor([0, 2, 1, 3, 0, 0]), 4)
        losses = [anchor_loss(logits, one_hot).mean(), two_way_loss(logits, one_hot),
                  uniloss(logits, torch.tensor([0, 2, 1, 3, 0, 0]), metric='accuracy'),
                  harmonic_loss(logits[:, 0].exp(), logits[:, 1].exp()).sum(),
                  hiou_loss(torch.tensor([[0., 0., 4., 4.]]), torch.tensor([[1., 1., 4., 4.]])).sum()]
        sum(losses).backward()
        assert all(torch.isfinite(loss) for loss in losses) and logits.grad.abs().sum() > 0
        print('pure losses ran')

        scores, targets = torch.randn(10), torch.tensor([1, 0] * 5)
        for name, call in [('ap_loss', lambda: ap_loss(scores, targets)),
                           ('auc_loss', lambda: auc_loss(scores, targets)),
                           ('rank_sort_loss', lambda: rank_sort_loss(scores, targets * 0.5)),
                           ('ap_rank', lambda: ap_rank(scores, targets)),
                           ('false_positive_sums', lambda: false_positive_sums(scores, targets, scores.double())),
                           ('cuda_kernel_compiled', cuda_kernel_compiled)]:
            try:
                call()
            except ImportError as error:
                assert 'pip install --no-build-isolation -e .' in str(error), (name, error)
                print(name, 'names the fix')
            else:
                raise AssertionError(f'{name} ran without the compiled ops')
    ''')
    assert 'pure losses ran' in output and output.count('names the fix') == 6, output


@pytest.mark.skipif(find_spec('mmdet') is None, reason='needs mmdet')
def test_mmdet_modules_register_and_a_ranking_loss_stops_when_built():
    output = run_without_extension('''
        import mmdet_losses
        from mmdet.registry import MODELS

        for loss in ['AnchorLoss', 'TwoWayLoss', 'UniLoss', 'HarmonicIoULoss']:
            MODELS.build(dict(type=loss))
        print('pure modules built')
        for loss in ['APLoss', 'AUCLoss', 'RankSortLoss']:
            try:
                MODELS.build(dict(type=loss))
            except ImportError as error:
                assert 'pip install --no-build-isolation -e .' in str(error), (loss, error)
                print(loss, 'names the fix')
    ''')
    assert 'pure modules built' in output and output.count('names the fix') == 3, output
