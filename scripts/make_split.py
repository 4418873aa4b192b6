#!/usr/bin/env python
"""Write base/novel annotation files of a split, for users who prefer files.

    python scripts/make_split.py --ann data/coco/annotations/instances_train2017.json \
        --split coco-voc --out-dir data/coco/annotations/splits

writes ``<stem>_base.json`` and ``<stem>_novel.json`` (and ``<stem>_split.json``,
the resolved split with names and ids). Each keeps every image and only the
annotations and categories of its side; category ids are unchanged, so results
files and the full annotation file stay compatible.
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from owp.datasets.splits import resolve_split  # noqa: E402


def subset_file(coco: dict, ids) -> dict:
    """A copy of ``coco`` holding only the annotations and categories in ``ids``."""
    ids = set(ids)
    out = {k: v for k, v in coco.items() if k not in ('annotations', 'categories')}
    out['categories'] = [c for c in coco['categories'] if c['id'] in ids]
    out['annotations'] = [a for a in coco['annotations'] if a['category_id'] in ids]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--ann', required=True, help='full COCO/LVIS annotation file')
    p.add_argument('--split', required=True, help="split name ('coco-voc', 'lvis-freq', "
                   "'shapes') or split JSON file")
    p.add_argument('--out-dir', required=True)
    args = p.parse_args(argv)
    if not osp.isfile(args.ann):
        p.error(f'annotation file {args.ann!r} does not exist')
    with open(args.ann) as f:
        coco = json.load(f)
    try:
        sp = resolve_split(args.split, coco['categories'])
    except ValueError as e:
        p.error(f'{args.ann}: {e}')
    os.makedirs(args.out_dir, exist_ok=True)
    stem = osp.splitext(osp.basename(args.ann))[0]
    for subset in ('base', 'novel'):
        path = osp.join(args.out_dir, f'{stem}_{subset}.json')
        part = subset_file(coco, sp.ids(subset))
        with open(path, 'w') as f:
            json.dump(part, f)
        print(f'{path}: {len(part["categories"])} classes, {len(part["annotations"])} boxes')
    with open(osp.join(args.out_dir, f'{stem}_split.json'), 'w') as f:
        json.dump(dict(base=sp.base_names, novel=sp.novel_names, base_ids=list(sp.base_ids),
                       novel_ids=list(sp.novel_ids)), f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
