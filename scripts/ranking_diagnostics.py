#!/usr/bin/env python
"""Ranking diagnostics of trained runs: does the score put the best boxes first?

    python scripts/ranking_diagnostics.py \\
        "OLN-Box=work_dirs/experiments/table1_shapes/oln-box/seed0" \\
        "IoU-CS-IS=work_dirs/experiments/table1_shapes/iou-cs-is/seed0" \\
        --data-root data/shapes/ --out ranking.json

Each run (a run folder, or a checkpoint in one; optionally ``NAME=RUN``) is run once on
its test set, keeping every candidate of the final NMS with its score components
(``owp.analysis.ranking``); a two-stage model (OLN-Box) also gives its RPN proposals.
The candidates are then scored each way they allow (the model's score, each component,
sqrt(centerness*iou), the 'oracle' best IoU), put through class-agnostic NMS at each
``--nms`` threshold, and measured: novel/base AR@k ('remove' protocol), Spearman's rho of
score vs best IoU with any base or novel box (all candidates; those with best IoU >= 0.3;
kept boxes), what the first
k kept boxes of an image are (new object / duplicate / miss), and the score histograms of
kept boxes that hit (IoU >= 0.5) or miss. A table goes to stdout, everything to ``--out``.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def _nms(value: str):
    if value.lower() == 'none':
        return None
    v = float(value)
    if not 0 < v <= 1:
        raise argparse.ArgumentTypeError(f'--nms {value}: an IoU in (0, 1] or "none"')
    return v


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('runs', nargs='+', metavar='[NAME=]RUN',
                   help='run folders (or a checkpoint inside one)')
    p.add_argument('--data-root', help="the dataset's root (overrides the configs' "
                   'data_root, e.g. when run outside the repository root)')
    p.add_argument('--ann', help='full annotation file of the test set (default: the '
                   "config's test_evaluator.ann_file, under --data-root if given)")
    p.add_argument('--split', default='shapes', help="base/novel split (default: 'shapes')")
    p.add_argument('--nms', nargs='+', type=_nms, default=[0.5, 0.7],
                   help='class-agnostic NMS thresholds to try, "none" for none '
                   '(default: 0.5 0.7)')
    p.add_argument('--max-dets', nargs='+', type=int, default=[10, 100],
                   help='k of AR@k (default: 10 100); the smallest is the breakdown\'s k')
    p.add_argument('--max-images', type=int, help='only the first N test images')
    p.add_argument('--out', required=True, help='JSON file of every number')
    args = p.parse_args(argv)
    if any(k <= 0 for k in args.max_dets):
        p.error(f'--max-dets must be positive, got {args.max_dets}')

    from mmengine.runner import Runner

    from owp.analysis import load_detector
    from owp.analysis.ranking import SCORINGS, collect_candidates, rank_candidates

    report, rows = {}, []
    for spec in args.runs:
        name, _, run = spec.rpartition('=') if '=' in spec else ('', '', spec)
        name = name or osp.basename(osp.normpath(run))
        try:
            model = load_detector(run)
        except (FileNotFoundError, ValueError) as e:
            p.error(f'{spec}: {e}')
        cfg = model.cfg
        dl = cfg.test_dataloader.copy()
        dl.update(num_workers=0, persistent_workers=False)
        ev = cfg.test_evaluator
        ev = ev[0] if isinstance(ev, (list, tuple)) else ev
        ann = args.ann or ev.get('ann_file')
        if args.data_root:
            old_root = dl.dataset.get('data_root') or ''
            dl.dataset.data_root = args.data_root
            if not args.ann and ann and old_root and ann.startswith(old_root):
                ann = osp.join(args.data_root, ann[len(old_root):])
        if not ann or not osp.isfile(ann):
            p.error(f'{spec}: annotation file {ann!r} does not exist (give --ann or '
                    '--data-root)')
        with open(ann) as f:
            coco = json.load(f)
        loader = Runner.build_dataloader(dl)
        print(f'[ranking] {name}: collecting candidates on {len(loader.dataset)} images',
              file=sys.stderr)
        stages = collect_candidates(model, loader, max_images=args.max_images)
        report[name] = {'run': run, 'ann_file': ann, 'stages': {}}
        for stage, cands in stages.items():
            have = set().union(*(c.keys() for c in cands)) | {'best_iou'}
            scorings = [s for s, (needed, _) in SCORINGS.items() if set(needed) <= have
                        # a component that is the model's score already: once
                        and not (s in have and s not in ('score', 'best_iou') and all(
                            (c[s] == c['score']).all() for c in cands))]
            results = []
            for scoring in scorings:
                for nms in args.nms:
                    r = rank_candidates(cands, coco, args.split, scoring, nms, args.max_dets)
                    r.update(scoring=scoring, nms=nms)
                    results.append(r)
                    top = r[f'top{min(args.max_dets)}']
                    rows.append([name, stage, scoring, 'none' if nms is None else f'{nms:g}']
                                + [f"{100 * v:.1f}" for v in r['ar'].values()]
                                + [f"{r['spearman_all']:.3f}", f"{r['spearman_near']:.3f}",
                                   f"{r['spearman_kept']:.3f}",
                                   f"{top['new']:.2f}", f"{top['new_novel']:.2f}",
                                   f"{top['duplicate']:.2f}", f"{top['miss']:.2f}"])
                    ar_keys = list(r['ar'])
            report[name]['stages'][stage] = dict(
                candidates_per_image=sum(len(c['score']) for c in cands) / max(len(cands), 1),
                results=results)
    k = min(args.max_dets)
    head = (['run', 'stage', 'scoring', 'nms'] + ar_keys
            + ['rho all', 'rho near', 'rho kept', f'top{k} new', f'top{k} new novel', f'top{k} dup',
               f'top{k} miss'])
    print('| ' + ' | '.join(head) + ' |')
    print('|' + ' --- |' * len(head))
    for row in rows:
        print('| ' + ' | '.join(row) + ' |')
    with open(args.out, 'w') as f:
        json.dump(report, f, indent=1)
    print(f'[ranking] wrote {args.out}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
