#!/usr/bin/env python
"""One recall table (percent) from several ``eval_novel.sh --out`` metric files.

    python scripts/ar_table.py iou=work_dirs/iou/novel.json \
        iou-cs-is=work_dirs/iou-cs-is/novel.json --keys AR@10,AR@100 --out table.md

Each argument is ``LABEL=PATH``. Keys default to every key of the first file,
in its order (``AR@<k>``, ``ARs@<K>``..., ``base/AR@<k>``...). Values are
fractions in the files, percent in the table; ``null`` (no box of that size)
shows as n/a. Prints GitHub markdown; ``--out`` also writes it (``.md``) or a
CSV (``.csv``).
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from owp.analysis.tables import recall_table, to_markdown  # noqa: E402


def load_rows(entries):
    """``LABEL=PATH`` strings -> rows for :func:`recall_table` (and the first file's keys)."""
    rows, first_keys = [], None
    for entry in entries:
        label, sep, path = entry.partition('=')
        if not sep or not label or not path:
            raise ValueError(f'{entry!r}: expected LABEL=PATH')
        if not osp.isfile(path):
            raise ValueError(f'{label}: no such metrics file {path!r}')
        with open(path) as f:
            try:
                metrics = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(f'{path}: not valid JSON ({e})') from None
        if not isinstance(metrics, dict):
            raise ValueError(f'{path}: expected an object of metric values')
        # null (no box of that size) -> -1, which recall_table shows as n/a
        metrics = {k: (-1.0 if v is None else v) for k, v in metrics.items()}
        first_keys = first_keys or list(metrics)
        rows.append(dict(experiment=label, metrics=metrics))
    return rows, first_keys


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('entries', nargs='+', metavar='LABEL=PATH')
    p.add_argument('--keys', help='comma-separated metric keys (default: the first file\'s)')
    p.add_argument('--out', help='also write the table: .md (markdown) or .csv')
    args = p.parse_args(argv)
    try:
        rows, keys = load_rows(args.entries)
        if args.keys:
            keys = [k.strip() for k in args.keys.split(',') if k.strip()]
        df = recall_table(rows, keys, index=('experiment', ))
    except (ValueError, KeyError) as e:
        p.error(str(e).strip('"'))
    md = to_markdown(df)
    print(md)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        if args.out.endswith('.csv'):
            df.to_csv(args.out, index=False, float_format='%.2f')
        else:
            with open(args.out, 'w') as f:
                f.write(md + '\n')
        print(f'[ar_table] wrote {args.out}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
