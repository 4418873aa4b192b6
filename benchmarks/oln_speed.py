#!/usr/bin/env python
"""OLN (two-stage) against stock FCOS and the heaviest OWP head, side by side.

Same backbone and input (ResNet-50 FPN by default, random weights, batch 2 x 3 x
512 x 512): stock ``FCOSHead``, the heaviest ``OWPFCOSHead`` (the one of
``benchmarks/head_overhead.py``: conditional IoU + centerness, IoU sampling,
unknown-object masking), OLN-RPN alone and OLN-Box, at the settings of their COCO
configs (OLN: 2000 candidates per level, no proposal NMS, RoI head on all of them,
1500 boxes kept). Runs alternate between the models (these machines are noisy) and
the medians are compared; the last line gives each model's time over stock FCOS's:
``ratio <model> train=X.XX infer=Y.YY``.

Random OLN-RPN weights would decode most candidates to empty boxes, which mmdet
drops; the RPN's regression bias is set so that every candidate is a real box,
as after training, so that the RoI head sees as many proposals as it will.

    python benchmarks/oln_speed.py                      # R50, 2x3x512x512
    python benchmarks/oln_speed.py --depth 18 --size 320 --reps 3
"""
import argparse
import os.path as osp
import statistics
import sys
import warnings

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from head_overhead import build, infer_step, inputs, model_cfgs, timed  # noqa: E402

warnings.filterwarnings('ignore')
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def oln_cfgs(depth):
    """OLN-RPN and OLN-Box model configs of the COCO configs, without pretrained weights."""
    from mmengine.config import Config
    out = {}
    for name in ('oln-rpn', 'oln-box'):
        m = Config.fromfile(osp.join(ROOT, 'configs', 'coco',
                                     f'{name}_r50_fpn_8e_coco-voc.py')).model
        m.backbone.init_cfg = None
        if depth != 50:
            m.backbone.depth = depth
            m.neck.in_channels = [64, 128, 256, 512]
        out[name] = m
    return out


def train_step(model, opt, packed):
    data = model.data_preprocessor(packed, True)
    losses = model(**data, mode='loss')
    # a loss is a tensor or, per FPN level, a list of them (RPN heads)
    loss = sum(sum(x.sum() for x in (v if isinstance(v, list) else [v]))
               for k, v in losses.items() if 'loss' in k)
    opt.zero_grad()
    loss.backward()
    opt.step()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--depth', type=int, default=50, choices=[18, 34, 50, 101])
    p.add_argument('--size', type=int, default=512)
    p.add_argument('--batch', type=int, default=2)
    p.add_argument('--reps', type=int, default=5)
    p.add_argument('--warmup', type=int, default=1)
    args = p.parse_args(argv)
    from mmengine.registry import init_default_scope

    import owp.registration  # noqa: F401
    init_default_scope('mmdet')
    stock_cfg, owp_cfg = model_cfgs(args.depth)
    cfgs = {'fcos': stock_cfg, 'owp': owp_cfg, **oln_cfgs(args.depth)}
    models = {k: build(c) for k, c in cfgs.items()}
    for k in ('oln-rpn', 'oln-box'):  # an RPN detector calls its head bbox_head
        head = getattr(models[k], 'rpn_head', None) or models[k].bbox_head
        torch.nn.init.constant_(head.rpn_reg.bias, 0.5)  # real boxes
    packed = inputs(args.batch, args.size, stock_cfg.bbox_head.num_classes)
    opts = {k: torch.optim.SGD(m.parameters(), lr=1e-4, momentum=0.9) for k, m in models.items()}
    print(f'R{args.depth}-FPN, batch {args.batch} x 3 x {args.size} x {args.size}, '
          f'torch {torch.__version__}, {torch.get_num_threads()} threads', flush=True)
    times = {(k, phase): [] for k in models for phase in ('train', 'infer')}
    for rep in range(args.warmup + args.reps):
        for k, m in models.items():  # alternate: every model sees the same machine state
            m.train()
            t_train = timed(lambda: train_step(m, opts[k], packed))
            m.eval()
            t_infer = timed(lambda: infer_step(m, packed))
            if rep >= args.warmup:
                times[(k, 'train')].append(t_train)
                times[(k, 'infer')].append(t_infer)
        print(f'rep {rep + 1}/{args.warmup + args.reps} done', flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    for phase in ('train', 'infer'):
        print(f'{phase}: ' + '   '.join(f'{k} {med[(k, phase)]:.3f} s' for k in models) +
              f' (median of {args.reps})')
    for k in models:
        if k != 'fcos':
            print(f'ratio {k} train={med[(k, "train")] / med[("fcos", "train")]:.2f} '
                  f'infer={med[(k, "infer")] / med[("fcos", "infer")]:.2f}')


if __name__ == '__main__':
    main()
