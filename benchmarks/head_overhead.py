#!/usr/bin/env python
"""Cost of the heaviest OWP head against mmdet's stock FCOSHead, side by side.

Same detector (ResNet-50 FPN by default, random weights), same batch and input;
only the head differs: stock ``FCOSHead`` vs ``OWPFCOSHead`` with conditional
IoU + centerness branches, IoU sampling at 0.3 and unknown-object masking on.
Runs alternate between the two models (these machines are noisy) and the
medians are compared. The last line is ``ratio train=X.XX infer=Y.YY``
(OWP time / stock time; goal: train <= 1.10, infer <= 1.05).

    python benchmarks/head_overhead.py                  # R50, 2x3x512x512
    python benchmarks/head_overhead.py --depth 18 --size 320 --reps 5
"""
import argparse
import copy
import os.path as osp
import statistics
import sys
import time
import warnings

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
warnings.filterwarnings('ignore')


def build(cfg):
    import logging

    from mmdet.registry import MODELS
    from mmengine.logging import MMLogger
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # init_weights logs every parameter
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    return model


def model_cfgs(depth):
    from mmengine.config import Config

    import owp.registration  # noqa: F401
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    cfg = Config.fromfile(osp.join(root, 'configs', 'coco', 'fcos_r50_fpn_90k_coco-voc.py'))
    m = cfg.model
    m.backbone.init_cfg = None
    if depth != 50:
        m.backbone.depth = depth
        m.neck.in_channels = [64, 128, 256, 512]
    owp_cfg = copy.deepcopy(m)
    owp_cfg.bbox_head.update(
        objectness_branches=('centerness', 'iou'), conditional_objectness=True,
        objectness_sampling='center', iou_sampling_thr=0.3,
        unknown_masking=dict(thr=0.95, start_iter=0))
    owp_cfg.test_cfg.score_mode = 'logits*iou'
    stock = copy.deepcopy(m)
    for k in ('objectness_branches', 'objectness_sampling', 'loss_iou'):
        stock.bbox_head.pop(k, None)
    stock.bbox_head.type = 'FCOSHead'
    stock.test_cfg.pop('score_mode', None)
    return stock, owp_cfg


def share_weights(stock, owp):
    """Give the OWP model the stock model's weights wherever they correspond.

    Two independently initialised random detectors predict different boxes,
    and NMS time depends on the boxes; with shared weights both heads see the
    same features and propose the same boxes, so only the head's own work
    differs. A conditional objectness conv gets the stock kernel on its
    feature channels and keeps its own (small) ones on the 4 box channels.
    """
    own = owp.state_dict()
    for name, w in stock.state_dict().items():
        if name not in own:
            continue
        if own[name].shape == w.shape:
            own[name].copy_(w)
        elif own[name].dim() == 4 and own[name].shape[1] == w.shape[1] + 4:
            own[name][:, :w.shape[1]].copy_(w)
    owp.load_state_dict(own)


def inputs(batch, size, num_classes):
    from mmdet.testing import demo_mm_inputs
    return demo_mm_inputs(batch_size=batch, image_shapes=[(3, size, size)] * batch,
                          num_items=[8] * batch, num_classes=num_classes)


def train_step(model, opt, packed):
    data = model.data_preprocessor(packed, True)
    losses = model(**data, mode='loss')
    loss = sum(v.sum() for k, v in losses.items() if 'loss' in k)
    opt.zero_grad()
    loss.backward()
    opt.step()


@torch.no_grad()
def infer_step(model, packed):
    data = model.data_preprocessor(packed, False)
    model(**data, mode='predict')


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--depth', type=int, default=50, choices=[18, 34, 50, 101])
    p.add_argument('--size', type=int, default=512)
    p.add_argument('--batch', type=int, default=2)
    p.add_argument('--reps', type=int, default=7)
    p.add_argument('--warmup', type=int, default=2)
    args = p.parse_args(argv)
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    stock_cfg, owp_cfg = model_cfgs(args.depth)
    models = {'stock': build(stock_cfg), 'owp': build(owp_cfg)}
    share_weights(models['stock'], models['owp'])
    packed = inputs(args.batch, args.size, stock_cfg.bbox_head.num_classes)
    opts = {k: torch.optim.SGD(m.parameters(), lr=1e-4, momentum=0.9) for k, m in models.items()}
    print(f'R{args.depth}-FPN, batch {args.batch} x 3 x {args.size} x {args.size}, '
          f'torch {torch.__version__}, {torch.get_num_threads()} threads', flush=True)
    times = {(k, phase): [] for k in models for phase in ('train', 'infer')}
    for rep in range(args.warmup + args.reps):
        for k, m in models.items():  # alternate: both see the same machine state
            m.train()
            t_train = timed(lambda: train_step(m, opts[k], packed))
            m.eval()
            t_infer = timed(lambda: infer_step(m, packed))
            if rep >= args.warmup:
                times[(k, 'train')].append(t_train)
                times[(k, 'infer')].append(t_infer)
    med = {k: statistics.median(v) for k, v in times.items()}
    for phase in ('train', 'infer'):
        print(f'{phase}: stock {med[("stock", phase)]:.3f} s   owp {med[("owp", phase)]:.3f} s '
              f'(median of {args.reps})')
    print(f'ratio train={med[("owp", "train")] / med[("stock", "train")]:.2f} '
          f'infer={med[("owp", "infer")] / med[("stock", "infer")]:.2f}')


if __name__ == '__main__':
    main()
