#!/usr/bin/env python
"""Recall against the number of proposals (AR-k curves, OLN's AUC) and recall by object size.

    python scripts/recall_curves.py work_dirs/experiments/table1_shapes \
        --study table1_shapes --out-dir figures/table1_shapes

WORK_DIR is a study work dir (``<row>/seed<S>/`` folders, as the experiments runner
writes them) or run dirs; several may be given. Each finished run (``metrics.json``)
gives one line per score mode: AR@k for k = 1 ... 1500 from the proposals it kept
(``eval_<score>/proposals.json``, the study option ``dump_proposals``), computed by
owp's evaluator, so each point is what ``eval_novel --max-dets <the same k>`` gives;
seeds of a row are its mean line and a min-max band; the legend gives OLN's AUC. A run
without a dump falls back to the AR@k of its metrics.json (the figure says so;
``--require-dumps`` makes it an error). ``--study`` orders rows as the manifest does and
adds its rows' published ``paper`` values as stars. Writes ``recall_curves.{png,pdf,csv}``
and ``recall_by_size.{png,pdf,csv}`` (AR in percent) into ``--out-dir``.

Dumps made by ``eval_novel.sh CONFIG CKPT --dump-proposals <run>/eval_<score>/proposals.json``
have no ``proposals_info.json``: give ``--ann`` and ``--split`` (and ``--max-per-img``,
the proposals the evaluation kept per image, so that larger k are not plotted).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from owp.analysis.recall_curves import CURVE_K, recall_curves  # noqa: E402


def _ints(text):
    try:
        ks = sorted({int(k) for k in text.split(',') if k.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected comma-separated integers, got {text!r}')
    if not ks or ks[0] <= 0:
        raise argparse.ArgumentTypeError(f'expected positive integers, got {text!r}')
    return ks


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('work_dirs', nargs='+', metavar='WORK_DIR')
    p.add_argument('--out-dir', required=True, help='where the figures and tables go')
    p.add_argument('--study', help='study name, folder or manifest (row order, paper values)')
    p.add_argument('--rows', help='comma-separated rows (default: all)')
    p.add_argument('--k', type=_ints, default=list(CURVE_K),
                   help=f'the curve\'s k (default: {",".join(map(str, CURVE_K))})')
    p.add_argument('--size-k', type=int, default=100, help='k of the size bars (default: 100)')
    p.add_argument('--subset', default='novel', choices=['novel', 'base', 'all'])
    p.add_argument('--ann', help='annotation file, for dumps without proposals_info.json')
    p.add_argument('--split', help='split, for dumps without proposals_info.json')
    p.add_argument('--max-per-img', type=int,
                   help='proposals kept per image by the evaluation that made the dumps')
    p.add_argument('--caption', default='', help='added to the figures\' notes')
    p.add_argument('--require-dumps', action='store_true',
                   help='fail on a run without proposals instead of using its metrics.json')
    args = p.parse_args(argv)
    try:
        res = recall_curves(args.work_dirs, args.out_dir, study=args.study,
                            rows=args.rows.split(',') if args.rows else None, ks=args.k,
                            subset=args.subset, size_k=args.size_k, ann_file=args.ann,
                            split=args.split, max_per_img=args.max_per_img,
                            caption=args.caption, require_dumps=args.require_dumps)
    except (ValueError, FileNotFoundError) as e:
        print(f'recall_curves: error: {e}', file=sys.stderr)
        return 2
    curves = res['curves'].pivot_table(index='k', columns='label', values='AR', sort=False)
    print(curves.round(2).to_string())
    print(f'[recall_curves] wrote {", ".join(res["files"])}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
