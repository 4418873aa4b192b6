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
import side_by_side as bench


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


def main(argv=None):
    args = bench.parse_args(__doc__.split('\n\n')[0], reps=7, warmup=2, argv=argv)
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    stock_cfg, owp_cfg = bench.model_cfgs(args.depth)
    models = {'stock': bench.build(stock_cfg), 'owp': bench.build(owp_cfg)}
    share_weights(models['stock'], models['owp'])
    packed = bench.inputs(args.batch, args.size, stock_cfg.bbox_head.num_classes)
    print(bench.describe(args), flush=True)
    med = bench.median_times(models, packed, args.reps, args.warmup)
    bench.print_medians(med, models, args.reps)
    print(f'ratio {bench.ratios(med, "owp", "stock")}')


if __name__ == '__main__':
    main()
