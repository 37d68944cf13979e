"""A RetinaNet with APLossRetinaHead under DistributedDataParallel on 2 CPU processes: after
backward, the averaged parameter gradients equal those of one process on the whole minibatch."""
import importlib.util

import pytest
import torch

pytest.importorskip('mmdet', reason='the detector needs mmdet')


def load_worker(here):
    spec = importlib.util.spec_from_file_location('retinanet_ddp_worker', here / 'retinanet_ddp_worker.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ddp_gradients_equal_one_process_on_the_whole_minibatch(torchrun, here):
    worker = load_worker(here)
    per_process = torchrun(here / 'retinanet_ddp_worker.py', 2)
    model = worker.build_model()
    expected = worker.gradients(model, *worker.minibatch(range(worker.IMAGES)))
    for rank, grads in enumerate(per_process):
        assert grads.keys() == expected.keys()
        for name, grad in grads.items():
            torch.testing.assert_close(grad, expected[name], rtol=1e-6, atol=1e-6 * expected[name].abs().max().item() + 1e-9,
                                       msg=f'{name} on rank {rank}')
    # The check has teeth: the classification branch does get a gradient from AP-Loss.
    assert expected['bbox_head.retina_cls.weight'].abs().max() > 0
