#!/usr/bin/env python
"""Proposal gallery: each run's top-k proposals, novel objects found (green) / missed (red).

    python scripts/proposals_gallery.py work_dirs/experiments/quickstart \
        --runs fcos,owp-iou-cs-is --k 10 --num-images 4 --out figures/gallery

WORK_DIR is a study work dir (or run dirs) of the experiments runner. Each of ``--runs``
(``ROW`` for its first score mode, or ``ROW:SCORE``) is one column, drawn on the same
images: its top-k proposals (thin blue), every novel ground-truth box found (green, solid)
or missed (red, dashed) by them at IoU >= ``--iou`` (COCO's greedy matching, as recall
counts it), base boxes grey. Images are ordered by the novel objects the first run
misses (``--sort missed``; ``missed:1`` for the second run; ``id``), or chosen with
``--images``. Writes ``OUT.png``, ``OUT.pdf`` and ``OUT.csv`` (found/missed per image).

The proposals are the runs' dumps (``eval_<score>/proposals.json``: study option
``dump_proposals``); dumps made by ``eval_novel.sh --dump-proposals`` need ``--ann``,
``--split`` and ``--image-dir``.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from owp.analysis.gallery import proposals_gallery  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('work_dirs', nargs='+', metavar='WORK_DIR')
    p.add_argument('--runs', required=True, help='comma-separated ROW or ROW:SCORE, one column each')
    p.add_argument('--out', required=True, help='output path without extension')
    p.add_argument('--seed', type=int, help="the runs' seed (default: each run's lowest)")
    p.add_argument('--k', type=int, default=10, help='proposals drawn and counted (default: 10)')
    p.add_argument('--iou', type=float, default=0.5, help='IoU for "found" (default: 0.5)')
    p.add_argument('--num-images', type=int, default=6)
    p.add_argument('--sort', default='missed', help="'missed', 'missed:<run index>' or 'id'")
    p.add_argument('--images', help='comma-separated image ids to show instead')
    p.add_argument('--ann', help='annotation file (dumps without proposals_info.json)')
    p.add_argument('--split', help='split (dumps without proposals_info.json)')
    p.add_argument('--image-dir', help='folder of the annotation file\'s images')
    p.add_argument('--caption', default='', help='added to the note under the figure')
    p.add_argument('--dpi', type=int, default=150, help='PNG resolution (default: 150)')
    args = p.parse_args(argv)
    if args.k <= 0 or not 0 < args.iou <= 1 or args.num_images <= 0:
        p.error('--k and --num-images must be positive, --iou in (0, 1]')
    try:
        res = proposals_gallery(args.work_dirs, [r for r in args.runs.split(',') if r],
                                args.out, seed=args.seed, k=args.k, iou_thr=args.iou,
                                num_images=args.num_images, sort_by=args.sort,
                                ann_file=args.ann, split=args.split, image_dir=args.image_dir,
                                image_ids=[int(i) for i in args.images.split(',')]
                                if args.images else None, caption=args.caption, dpi=args.dpi)
    except (ValueError, FileNotFoundError) as e:
        print(f'proposals_gallery: error: {e}', file=sys.stderr)
        return 2
    print(res['table'].head(args.num_images).to_string(index=False))
    print(f'[proposals_gallery] wrote {", ".join(res["files"])}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
