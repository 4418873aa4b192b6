#!/usr/bin/env python
"""Learning curves of one or several mmengine work dirs (``vis_data/scalars.json``).

    python scripts/plot_curves.py work_dirs/experiments/curves_shapes/fcos/seed0 \
        work_dirs/experiments/curves_shapes/owp-iou-cs-is/seed0 \
        --out curves.png --csv curves.csv
    python scripts/plot_curves.py --study schedule_shapes --losses loss_cls,loss_bbox \
        --out curves                                 # every run of a study, seeds as bands
    python scripts/plot_curves.py --study figure6_shapes --figure6 --out figure6

Each argument is a work dir (named after its folder, ``row/seedN`` for the experiments
runner's folders), a study's work dir, or ``NAME=WORK_DIR``; or ``--study`` names a study
(its runs in ``--work-dir``, default ``work_dirs/experiments/<study>``). The figure has one
panel per validation metric (percent) and one per training loss (moving average of
``--smooth`` logged points); the seeds of a row are drawn as their mean with a min-max band
(``--no-bands``: one line per run). ``--figure6`` draws the paper's figure 6 instead: base AP
and novel AR@100 against iteration, one panel per recipe and masking threshold, one line per
start iteration (read from each run's dumped config), and each recipe's runs without
masking as a dashed level (their final test metrics, from ``metrics.json``). ``--out`` is
written as PNG and PDF (a path without extension or ending in .png). ``--csv`` writes the
validation metrics, one row per run and iteration, in percent; the same table is printed.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from owp.analysis import curves  # noqa: E402
from owp.analysis.runs import find_runs, study_rows  # noqa: E402
from owp.analysis.style import row_name  # noqa: E402


def validation_table(table):
    """The tidy table's validation rows, wide: run, iteration, one column per metric (%)."""
    val = table[table['kind'] == 'val']
    wide = val.pivot_table(index=['run', 'iteration'], columns='metric', values='value',
                           aggfunc='last', sort=False)
    wide = wide.sort_index() * 100
    wide.columns.name = None
    return wide.reset_index()


def _written(out):
    """The files a figure path becomes: PNG and PDF unless it names another format."""
    root, ext = osp.splitext(out)
    return f'{root}.png and {root}.pdf' if ext.lower() in ('', '.png', '.pdf') else out


def _split(text):
    return [t.strip() for t in text.split(',') if t.strip()] if text else None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('work_dirs', nargs='*', metavar='[NAME=]WORK_DIR')
    p.add_argument('--study', help='a study (name under experiments/, folder or manifest)')
    p.add_argument('--work-dir', help="the study's work dir (default: "
                   'work_dirs/experiments/<study>)')
    p.add_argument('--rows', help='with --study: comma-separated rows to draw (default: all)')
    p.add_argument('--figure6', action='store_true',
                   help="the paper's figure 6 grid from a masking study's runs")
    p.add_argument('--no-bands', action='store_true',
                   help='one line per run instead of a mean and min-max band per row')
    p.add_argument('--out', required=True,
                   help='figure path: without extension or .png (PNG + PDF), or .svg')
    p.add_argument('--csv', help='also write the validation metrics per iteration (percent)')
    p.add_argument('--metrics', help='comma-separated validation metrics (default: all logged)')
    p.add_argument('--losses', help="comma-separated losses (default: 'loss')")
    p.add_argument('--smooth', type=int, default=10,
                   help='moving-average window over logged loss points (default: 10)')
    p.add_argument('--title')
    args = p.parse_args(argv)
    if bool(args.study) == bool(args.work_dirs):
        p.error('give work dirs or --study, one of the two')
    if (args.work_dir or args.rows) and not args.study:
        p.error('--work-dir and --rows go with --study')
    pairs = [e.partition('=') for e in args.work_dirs]
    if any(sep for _, sep, _ in pairs) and not all(sep for _, sep, _ in pairs):
        p.error('give every work dir as NAME=WORK_DIR, or none')
    from owp.experiments.manifest import ManifestError
    try:
        if args.figure6:
            source = args.study or [path if sep else name for name, sep, path in pairs]
            lines = curves.figure6_grid(source, args.work_dir,
                                        _split(args.metrics) or curves.FIGURE6_METRICS)
            refs = curves.figure6_references(source, args.work_dir,
                                             _split(args.metrics) or curves.FIGURE6_METRICS)
            import matplotlib
            matplotlib.use('Agg')
            import matplotlib.pyplot as plt
            plt.close(curves.plot_figure6(lines, args.out, title=args.title, references=refs))
            wide = lines.assign(**{c: lines[c] * 100 for c in ('mean', 'min', 'max')})
            wide['thr'] = wide['thr'].map('{:g}'.format)  # 0.925, not the 2 decimals below
            print(wide.to_string(index=False, float_format=lambda v: f'{v:.2f}'))
            if not refs.empty:
                print('\nwithout masking (final test metrics, the dashed levels):')
                print(refs.assign(**{c: refs[c] * 100 for c in ('mean', 'min', 'max')})
                      .to_string(index=False, float_format=lambda v: f'{v:.2f}'))
            if args.csv:
                os.makedirs(osp.dirname(osp.abspath(args.csv)), exist_ok=True)
                wide.to_csv(args.csv, index=False, float_format='%.2f')
            print(f'[plot_curves] wrote {_written(args.out)}', file=sys.stderr)
            return 0
        rows = labels = None
        if args.study:
            table = curves.study_scalars(args.study, args.work_dir)
            rows = study_rows(args.study)
            labels = curves.score_labels(args.study, args.work_dir)
            if args.rows:
                wanted = _split(args.rows)
                unknown = sorted(set(wanted) - set(map(row_name, table['run'])))
                if unknown:
                    p.error(f'--rows: no logged run of row(s) {", ".join(unknown)}')
                table = table[table['run'].map(row_name).isin(wanted)]
        elif all(sep for _, sep, _ in pairs):
            names = [name for name, _, _ in pairs]
            if len(set(names)) < len(names):
                p.error(f'a run name is given twice: {", ".join(names)}')
            table = curves.read_scalars({name: path for name, _, path in pairs})
        else:
            dirs = []
            for d in args.work_dirs:  # a run, or a study's work dir holding <row>/seed<S>/
                try:
                    curves.find_scalars_files(d)
                    dirs.append(d)
                except FileNotFoundError:
                    dirs += list(find_runs(d).values())
            table = curves.read_scalars(dirs)
        curves.plot_curves(table, args.out, metrics=_split(args.metrics),
                           losses=_split(args.losses), smooth=args.smooth, title=args.title,
                           rows=rows, labels=labels, bands=not args.no_bands)
    except (ValueError, FileNotFoundError, ManifestError) as e:
        p.error(str(e))
    wide = validation_table(table)
    print(wide.to_string(index=False, float_format=lambda v: f'{v:.2f}'))
    if args.csv:
        os.makedirs(osp.dirname(osp.abspath(args.csv)), exist_ok=True)
        wide.to_csv(args.csv, index=False, float_format='%.2f')
        print(f'[plot_curves] wrote {args.csv}', file=sys.stderr)
    print(f'[plot_curves] wrote {_written(args.out)}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
