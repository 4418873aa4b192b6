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
import os.path as osp

import side_by_side as bench
import torch


def oln_cfgs(depth):
    """OLN-RPN and OLN-Box model configs of the COCO configs, without pretrained weights."""
    from mmengine.config import Config
    out = {}
    for name in ('oln-rpn', 'oln-box'):
        m = Config.fromfile(osp.join(bench.ROOT, 'configs', 'coco',
                                     f'{name}_r50_fpn_8e_coco-voc.py')).model
        m.backbone.init_cfg = None
        if depth != 50:
            m.backbone.depth = depth
            m.neck.in_channels = [64, 128, 256, 512]
        out[name] = m
    return out


def main(argv=None):
    args = bench.parse_args(__doc__.split('\n\n')[0], reps=5, warmup=1, argv=argv)
    from mmengine.registry import init_default_scope

    import owp.registration  # noqa: F401
    init_default_scope('mmdet')
    stock_cfg, owp_cfg = bench.model_cfgs(args.depth)
    cfgs = {'fcos': stock_cfg, 'owp': owp_cfg, **oln_cfgs(args.depth)}
    models = {k: bench.build(c) for k, c in cfgs.items()}
    for k in ('oln-rpn', 'oln-box'):  # an RPN detector calls its head bbox_head
        head = getattr(models[k], 'rpn_head', None) or models[k].bbox_head
        torch.nn.init.constant_(head.rpn_reg.bias, 0.5)  # real boxes
    packed = bench.inputs(args.batch, args.size, stock_cfg.bbox_head.num_classes)
    print(bench.describe(args), flush=True)
    med = bench.median_times(models, packed, args.reps, args.warmup, progress=True)
    bench.print_medians(med, models, args.reps)
    for k in models:
        if k != 'fcos':
            print(f'ratio {k} {bench.ratios(med, k, "fcos")}')


if __name__ == '__main__':
    main()
