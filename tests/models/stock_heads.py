"""mmdet 3.3's dense heads as its own configs define them (3 classes, nothing downloaded), with
inputs for one training step: shared by tests/models/test_ranking_heads.py and the process it
starts without mmdet_losses. Importing this module does not import mmdet_losses."""
import math
import os

import torch

# head: (mmdet config, image side: large enough for the coarsest level's kernels)
CONFIGS = {
    'RetinaHead': ('retinanet/retinanet_r50_fpn_1x_coco.py', 256),
    'RetinaSepBNHead': ('nas_fpn/retinanet_r50_nasfpn_crop640-50e_coco.py', 256),
    'SABLRetinaHead': ('sabl/sabl-retinanet_r50_fpn_1x_coco.py', 256),
    'ATSSHead': ('atss/atss_r50_fpn_1x_coco.py', 256),
    'GFLHead': ('gfl/gfl_r50_fpn_1x_coco.py', 256),
    'DDODHead': ('ddod/ddod_r50_fpn_1x_coco.py', 384),
    'TOODHead': ('tood/tood_r50_fpn_1x_coco.py', 256),
    'VFNetHead': ('vfnet/vfnet_r50_fpn_1x_coco.py', 256),
    'FCOSHead': ('fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py', 256),
    'NASFCOSHead': ('nas_fcos/nas-fcos_r50-caffe_fpn_nashead-gn-head_4xb4-1x_coco.py', 256),
    'FoveaHead': ('foveabox/fovea_r50_fpn_4xb4-1x_coco.py', 256),
    'RTMDetSepBNHead': ('rtmdet/rtmdet_tiny_8xb32-300e_coco.py', 256),
    'YOLOXHead': ('yolox/yolox_tiny_8xb8-300e_coco.py', 256),
    'YOLOFHead': ('yolof/yolof_r50-c5_8xb8-1x_coco.py', 256),
    'RPNHead': ('faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', 256),
    'RepPointsHead': ('reppoints/reppoints-moment_r50_fpn-gn_head-gn_1x_coco.py', 256),
}
# Heads that pass a quality with their targets: Rank & Sort sorts their positives by it.
QUALITY_HEADS = ('GFLHead', 'TOODHead', 'RTMDetSepBNHead', 'VFNetHead', 'YOLOXHead')


def mmdet_config(path: str):
    import mmdet
    from mmengine.config import Config
    return Config.fromfile(os.path.join(os.path.dirname(mmdet.__file__), '.mim', 'configs', path))


def head_config(name: str, loss_cls: dict = None) -> dict:
    """The head's config from its mmdet config, with train and test settings, 3 classes and
    ``loss_cls`` when given."""
    model = mmdet_config(CONFIGS[name][0]).model
    if name == 'RPNHead':
        head = model.rpn_head
        head.update(train_cfg=model.train_cfg.rpn, test_cfg=model.test_cfg.rpn)
    else:
        head = model.bbox_head
        head.update(num_classes=3, train_cfg=model.get('train_cfg'), test_cfg=model.get('test_cfg'))
    if loss_cls is not None:
        head.loss_cls = loss_cls
    return head.to_dict()


def build_head(name: str, loss_cls: dict = None, seed: int = 0):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.logging import MessageHub
    register_all_modules()
    # TOOD reads the epoch from the message hub: past its initial epochs, it calls loss_cls.
    MessageHub.get_current_instance().update_info('epoch', 100)
    torch.manual_seed(seed)
    return MODELS.build(head_config(name, loss_cls)).train()


def step_inputs(name: str, head, images: int = 2, seed: int = 0):
    """(feats, data samples) for ``head``: ``images`` generated images of the head's size."""
    size = CONFIGS[name][1]
    generator = torch.Generator().manual_seed(seed)
    generators = [getattr(head, attr) for attr in ('prior_generator', 'square_anchor_generator')
                  if getattr(head, attr, None) is not None]
    strides = [s[0] if isinstance(s, (tuple, list)) else s for s in generators[0].strides]
    feats = [torch.randn(images, head.in_channels, math.ceil(size / s), math.ceil(size / s), generator=generator)
             for s in strides]
    # The RPN has one class, object, as TwoStageDetector.loss gives it.
    return feats, data_samples(size, images, generator, classes=1 if name == 'RPNHead' else 3)


def data_samples(size: int, images: int, generator: torch.Generator, classes: int = 3) -> list:
    """Data samples of ``images`` images of ``size`` x ``size``: image k has k + 1 random boxes."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    samples = []
    for k in range(images):
        corner = torch.rand(k + 1, 2, generator=generator) * size / 2
        side = size / 8 + torch.rand(k + 1, 2, generator=generator) * size / 3
        sample = DetDataSample(metainfo=dict(img_shape=(size, size), pad_shape=(size, size),
                                             batch_input_shape=(size, size), scale_factor=(1.0, 1.0)))
        sample.gt_instances = InstanceData(bboxes=torch.cat([corner, corner + side], 1),
                                           labels=torch.randint(0, classes, (k + 1,), generator=generator))
        samples.append(sample)
    return samples


def total_loss(losses: dict) -> torch.Tensor:
    return sum(sum(value) if isinstance(value, (list, tuple)) else value
               for key, value in losses.items() if 'loss' in key)


def losses_and_gradients(name: str, loss_cls: dict = None):
    """The head's losses (each a float or a list of floats) and its parameters' gradients after
    one step."""
    head = build_head(name, loss_cls)
    feats, samples = step_inputs(name, head)
    losses = head.loss(feats, samples)
    total_loss(losses).backward()
    values = {key: [float(v) for v in value] if isinstance(value, (list, tuple)) else float(value)
              for key, value in losses.items()}
    return values, {key: p.grad.clone() for key, p in head.named_parameters() if p.grad is not None}
