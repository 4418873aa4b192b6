#!/usr/bin/env python
"""Proposal score distributions of a study's runs (paper fig. 5), from their score dumps.

    python scripts/score_histograms.py quickstart --work-dir outputs/quickstart --out hist
    python scripts/score_histograms.py work_dirs/experiments/table1_shapes --key iou --out h

SOURCE is a study (name under ``experiments/``, folder or manifest; its runs in
``--work-dir``, default ``work_dirs/experiments/<study>``), a study's work dir, or a run
folder. Each run's ``eval_<score>/scores.npz`` (written when the study's manifest says
``score_dump: true``) gives one panel: the histogram of ``--key`` for proposals that hit a
novel object, a base object (IoU >= ``--iou-thr``) or nothing. Written as PNG and PDF.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('source', help='a study, a study work dir, or a run folder')
    p.add_argument('--work-dir', help="the study's work dir")
    p.add_argument('--key', default='score',
                   help="what to histogram: score (default), cls_prob, centerness, iou")
    p.add_argument('--iou-thr', type=float, default=0.5,
                   help='IoU at which a proposal hits a box (default: 0.5)')
    p.add_argument('--out', required=True, help='figure path without extension (or .png)')
    args = p.parse_args(argv)

    from owp.analysis import find_score_dumps, load_score_dump, plot_score_histograms
    try:
        paths = find_score_dumps(args.source, args.work_dir)
        dumps = {name: load_score_dump(path) for name, path in paths.items()}
        missing = [name for name, d in dumps.items() if args.key not in d]
        if missing:
            p.error(f'--key {args.key!r}: not in the dumps of {", ".join(missing)} (a dump '
                    'holds cls_prob, centerness, iou only where the head has them)')
        out = osp.splitext(args.out)[0] + '.png'
        plot_score_histograms(dumps, out, key=args.key, iou_thr=args.iou_thr)
    except (FileNotFoundError, ValueError) as e:
        p.error(str(e))
    print(f'[score_histograms] wrote {out} and {osp.splitext(out)[0]}.pdf', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
