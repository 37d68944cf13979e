"""Detectors with ranking losses in mmdet's stock heads (RetinaNet; Faster R-CNN with APLoss in the
RPN and the RoI head; YOLOX, with one process that has no object), RS-ATSS, RS-R-CNN, aLRP
RetinaNet and aLRP Faster R-CNN (one process without objects), RS-DINO (noise-free denoising
queries), RS-Deformable-DETR, RS-YOLACT and RS-SOLOv2 (masks; one process without objects) under
DistributedDataParallel on 2 CPU processes: after backward, the averaged parameter gradients equal
those of one process on the whole minibatch."""
import importlib.util

import pytest
import torch

pytestmark = pytest.mark.slow  # trains or launches processes

pytest.importorskip('mmdet', reason='the detector needs mmdet')

CLASSIFIERS = {'retinanet': ['bbox_head.retina_cls'],
               'faster_rcnn': ['rpn_head.rpn_cls', 'roi_head.bbox_head.fc_cls'],
               'rank_sort_atss': ['bbox_head.atss_cls'],
               'yolox': ['bbox_head.multi_level_conv_cls.0'],
               'rs_rcnn': ['rpn_head.rpn_cls', 'roi_head.bbox_head.fc_cls'],
               'alrp_retinanet': ['bbox_head.retina_cls', 'bbox_head.retina_reg'],
               'alrp_faster_rcnn': ['rpn_head.rpn_cls', 'rpn_head.rpn_reg', 'roi_head.bbox_head.fc_cls',
                                    'roi_head.bbox_head.fc_reg'],
               'rs_dino': ['bbox_head.cls_branches.1', 'bbox_head.reg_branches.1.4', 'bbox_head.cls_branches.2'],
               # (the decoder layers share one branch of each without box refinement)
               'rs_deformable_detr': ['bbox_head.cls_branches.0', 'bbox_head.reg_branches.0.4'],
               'rs_yolact': ['bbox_head.conv_cls', 'bbox_head.conv_reg', 'bbox_head.conv_coeff',
                             'mask_head.protonet.0'],
               'rs_solov2': ['mask_head.conv_cls', 'mask_head.conv_kernel']}


def load_worker(here):
    spec = importlib.util.spec_from_file_location('detector_ddp_worker', here / 'detector_ddp_worker.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('detector', list(CLASSIFIERS))
def test_ddp_gradients_equal_one_process_on_the_whole_minibatch(torchrun, here, detector):
    worker = load_worker(here)
    per_process = torchrun(here / 'detector_ddp_worker.py', 2, detector)
    model = worker.build_model(detector)
    expected = worker.gradients(model, *worker.minibatch(range(worker.IMAGES), detector))
    for rank, grads in enumerate(per_process):
        assert grads.keys() == expected.keys()
        for name, grad in grads.items():
            # float32 sums in another order; RS's box loss also passes through a ratio of them
            # (the balance).
            tolerance = 1e-5 if detector in ('rank_sort_atss', 'rs_rcnn', 'rs_dino', 'rs_deformable_detr', 'rs_yolact',
                                         'rs_solov2') else 2e-6
            torch.testing.assert_close(grad, expected[name], rtol=tolerance,
                                       atol=tolerance * expected[name].abs().max().item() + 1e-9,
                                       msg=f'{name} on rank {rank}')
    # The check has teeth: every classification branch does get a gradient from its ranking loss.
    for classifier in CLASSIFIERS[detector]:
        assert expected[f'{classifier}.weight'].abs().max() > 0, classifier
