#!/usr/bin/env python
"""Objectness maps: paper fig. 7 for several runs side by side, or one model per FPN level.

    # fig. 7: the same validation images, each run's objectness branches, GT boxes drawn
    python scripts/objectness_maps.py \
        --run "FCOS sampling=outputs/quickstart/owp-iou-cs-is/seed0" \
        --run "all sampling=work_dirs/experiments/appendixB_shapes/iou-all/seed0" \
        --ann data/shapes/annotations/instances_val.json --image-dir data/shapes/val \
        --num-images 2 --out fig7                      # fig7.png + fig7.pdf

    # one checkpoint, one image, every FPN level
    python scripts/objectness_maps.py CONFIG CHECKPOINT IMAGE [--out maps.png]
        [--cfg-options KEY=VALUE ...]

A run is a run folder (its dumped config and last checkpoint are used) or a checkpoint in
one (``RUN/iter_750.pth``: that checkpoint), optionally as ``NAME=RUN``. Images are ``--images PATH ...``, or the ``--num-images`` validation
images with the most novel objects. Checkpoints are read through owp's safe loader
(a checkpoint that unpickles code is refused unless trusted; see docs/design.md).
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def main(argv=None) -> int:
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('single', nargs='*', metavar='CONFIG CHECKPOINT IMAGE',
                   help='one model on one image, per FPN level')
    p.add_argument('--run', action='append', metavar='[NAME=]RUN_DIR',
                   help='a run folder to compare (repeat: one column group each)')
    p.add_argument('--images', nargs='+', help='images to show (with --run)')
    p.add_argument('--num-images', type=int, default=2,
                   help='without --images: this many images of --ann with most novel objects')
    p.add_argument('--ann', help='COCO-style annotations of the images (GT boxes)')
    p.add_argument('--image-dir', help="folder of --ann's images (for --num-images)")
    p.add_argument('--split', default='shapes', help="base/novel split (default: 'shapes')")
    p.add_argument('--level', default='max',
                   help="how FPN levels are fused: 'max', 'mean' or a level index")
    p.add_argument('--out', default='objectness_maps.png',
                   help='figure path (with --run: PNG + PDF, without extension or .png)')
    p.add_argument('--dpi', type=int, default=150, help='PNG resolution (with --run)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='config overrides KEY=VALUE')
    args = p.parse_args(argv)
    if args.run:
        if args.single:
            p.error('give --run folders or CONFIG CHECKPOINT IMAGE, not both')
        return _compare(p, args)
    if len(args.single) != 3:
        p.error('give CONFIG CHECKPOINT IMAGE, or --run folders')
    config, checkpoint, image = args.single
    for what, path in (('config', config), ('checkpoint', checkpoint), ('image', image)):
        if not osp.isfile(path):
            p.error(f'{what} {path!r} does not exist')

    from owp.analysis import load_detector, objectness_maps, plot_objectness_maps
    model = load_detector(config, checkpoint, cfg_options=args.cfg_options)
    result = objectness_maps(model, image, model.cfg)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    plot_objectness_maps(result, args.out, title=osp.basename(image))
    print(f'[objectness_maps] wrote {args.out}', file=sys.stderr)
    return 0


def _compare(p, args) -> int:
    """Fig. 7: several runs side by side on the same images."""
    from owp.analysis import compare_objectness_maps, load_detector, pick_images
    runs = {}
    for entry in args.run:
        name, sep, folder = entry.rpartition('=')
        if not sep:
            name = folder.rstrip('/')
            name = f'{osp.basename(osp.dirname(name))}/{osp.basename(name)}'
        if not (osp.isdir(folder) or (osp.isfile(folder) and folder.endswith('.pth'))):
            p.error(f'--run {entry!r}: {folder} is neither a run folder nor a checkpoint')
        if name in runs:
            p.error(f'two runs are named {name!r}: give NAME=RUN_DIR')
        runs[name] = folder
    level = int(args.level) if args.level.lstrip('-').isdigit() else args.level
    try:
        if args.images:
            images = args.images
        elif args.ann and args.image_dir:
            images = pick_images(args.ann, args.image_dir, args.num_images, args.split)
        else:
            p.error('give --images, or --ann and --image-dir to pick them')
        models = {name: load_detector(folder, cfg_options=args.cfg_options)
                  for name, folder in runs.items()}
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        fig = compare_objectness_maps(models, images, args.ann, args.split, level=level,
                                      out_file=args.out, dpi=args.dpi)
        plt.close(fig)
    except (FileNotFoundError, KeyError, ValueError) as e:
        p.error(str(e))
    print(f'[objectness_maps] wrote {osp.splitext(args.out)[0]}.png and .pdf', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
