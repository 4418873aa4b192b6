#!/usr/bin/env python
"""Learning curves of one or several mmengine work dirs (``vis_data/scalars.json``).

    python scripts/plot_curves.py work_dirs/experiments/curves_shapes/fcos/seed0 \
        work_dirs/experiments/curves_shapes/owp-iou-cs-is/seed0 \
        --out curves.png --csv curves.csv

Each argument is a work dir (named after its folder, ``row/seedN`` for the experiments
runner's folders) or ``NAME=WORK_DIR``. The figure has one panel per validation metric
(percent) and one per training loss (moving average of ``--smooth`` logged points), one
line per run. ``--csv`` writes the validation metrics, one row per run and iteration, in
percent; the same table is printed.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from owp.analysis.curves import plot_curves, read_scalars  # noqa: E402


def validation_table(table):
    """The tidy table's validation rows, wide: run, iteration, one column per metric (%)."""
    val = table[table['kind'] == 'val']
    wide = val.pivot_table(index=['run', 'iteration'], columns='metric', values='value',
                           aggfunc='last', sort=False)
    wide = wide.sort_index() * 100
    wide.columns.name = None
    return wide.reset_index()


def _split(text):
    return [t.strip() for t in text.split(',') if t.strip()] if text else None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('work_dirs', nargs='+', metavar='[NAME=]WORK_DIR')
    p.add_argument('--out', required=True, help='figure path (.png, .pdf, .svg)')
    p.add_argument('--csv', help='also write the validation metrics per iteration (percent)')
    p.add_argument('--metrics', help='comma-separated validation metrics (default: all logged)')
    p.add_argument('--losses', help="comma-separated losses (default: 'loss')")
    p.add_argument('--smooth', type=int, default=10,
                   help='moving-average window over logged loss points (default: 10)')
    p.add_argument('--title')
    args = p.parse_args(argv)
    pairs = [e.partition('=') for e in args.work_dirs]
    if any(sep for _, sep, _ in pairs) and not all(sep for _, sep, _ in pairs):
        p.error('give every work dir as NAME=WORK_DIR, or none')
    try:
        if all(sep for _, sep, _ in pairs):
            names = [name for name, _, _ in pairs]
            if len(set(names)) < len(names):
                p.error(f'a run name is given twice: {", ".join(names)}')
            table = read_scalars({name: path for name, _, path in pairs})
        else:
            table = read_scalars(args.work_dirs)
        plot_curves(table, args.out, metrics=_split(args.metrics), losses=_split(args.losses),
                    smooth=args.smooth, title=args.title)
    except (ValueError, FileNotFoundError) as e:
        p.error(str(e))
    wide = validation_table(table)
    print(wide.to_string(index=False, float_format=lambda v: f'{v:.2f}'))
    if args.csv:
        os.makedirs(osp.dirname(osp.abspath(args.csv)), exist_ok=True)
        wide.to_csv(args.csv, index=False, float_format='%.2f')
        print(f'[plot_curves] wrote {args.csv}', file=sys.stderr)
    print(f'[plot_curves] wrote {args.out}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
