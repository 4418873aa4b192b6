#!/usr/bin/env python
"""The open-world loop on the synthetic shapes benchmark, end to end on a CPU.

This is the study ``experiments/quickstart`` run by the study runner
(``python -m owp.experiments run quickstart --work-dir outputs/quickstart`` does
the same with the default sizes):

1. generate the shapes benchmark (4 base + 4 novel classes) into ``--data``;
2. train FCOS variants on the **base** classes only, each with ``mim train``
   (novel objects are in the training images, unlabelled);
3. propose boxes on the validation images with several scoring rules;
4. measure class-agnostic AR@k on the **novel** classes (and on the base
   classes), print the table, and write into ``--out``: ``table.md`` /
   ``table.csv`` / ``results.json`` (mean ± std over the seeds run), one
   ``<run>/seed<S>/metrics.json`` per run (with provenance), ``ar_vs_k.png`` and
   ``score_hist.png`` (proposal-score histograms, paper fig. 5).

Running it again keeps every finished run and resumes an interrupted one from
its last checkpoint (``--fresh`` starts over). The dataset folder is reused
when it was made with the same generator settings.

    python scripts/quickstart.py                 # ~8 min on 2 cores
    python scripts/quickstart.py --iters 300     # a faster, weaker look
    python scripts/quickstart.py --seeds 0,1,2   # the spread over seeds (~30 min)
"""
import argparse
import os.path as osp
import shutil
import sys
import time
import warnings

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
STUDY = osp.join(REPO, 'experiments', 'quickstart', 'manifest.yaml')


def log(msg):
    print(f'[quickstart] {msg}', flush=True)


def parse_args(argv=None):
    sys.path.insert(0, REPO)  # run from a checkout without `pip install -e .` too
    from owp.experiments.manifest import load_study
    study = load_study(STUDY)
    rows = [r.name for r in study.rows]
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--out', default='outputs/quickstart', help='output folder (work dir)')
    p.add_argument('--data', default='data/shapes', help='shapes dataset folder')
    p.add_argument('--num-train', type=int, default=study.shapes['num_train'])
    p.add_argument('--num-val', type=int, default=study.shapes['num_val'])
    p.add_argument('--iters', type=int, default=None,
                   help='training iterations per run (default: the configs\' max_iters)')
    p.add_argument('--runs', nargs='*', default=rows, choices=rows, help='which rows to run')
    p.add_argument('--seeds', default=','.join(map(str, study.seeds)), help='e.g. 0,1,2')
    p.add_argument('--fresh', action='store_true', help='delete --out first (retrain all)')
    p.add_argument('--batch-size', type=int, default=None, help='override train batch size')
    p.add_argument('--workers', type=int, default=None, help='override dataloader workers')
    p.add_argument('--dry-run', action='store_true', help='print the commands only')
    args = p.parse_args(argv)
    if not args.runs:
        p.error('--runs: name at least one run')
    for opt in ('num_train', 'num_val', 'iters', 'batch_size'):
        v = getattr(args, opt)
        if v is not None and v < 1:
            p.error(f"--{opt.replace('_', '-')} must be >= 1, got {v}")
    if args.workers is not None and args.workers < 0:
        p.error(f'--workers must be >= 0, got {args.workers}')
    try:
        args.seeds = [int(s) for s in args.seeds.split(',') if s.strip()]
    except ValueError:
        p.error(f'--seeds must be comma-separated ints, got {args.seeds!r}')
    if not args.seeds or min(args.seeds) < 0 or len(set(args.seeds)) != len(args.seeds):
        p.error(f'--seeds must be distinct non-negative ints, got {args.seeds}')
    return args, study


def cfg_options(args) -> dict:
    """``--cfg-options`` of every run for the size arguments."""
    opts = {}
    if args.iters is not None:  # keep the lr step at the same fraction of training
        opts.update({'train_cfg.max_iters': args.iters,
                     'param_scheduler.1.milestones': [int(args.iters * 0.75)],
                     'param_scheduler.1.end': args.iters,
                     'param_scheduler.0.end': min(100, max(1, args.iters // 10))})
    if args.batch_size is not None:
        opts['train_dataloader.batch_size'] = args.batch_size
    if args.workers is not None:
        for key in ('train_dataloader', 'test_dataloader'):  # no validation loop
            opts[f'{key}.num_workers'] = args.workers
            if args.workers == 0:
                opts[f'{key}.persistent_workers'] = False
    return opts


def main(argv=None):
    args, study = parse_args(argv)
    warnings.filterwarnings('ignore')
    from owp.experiments import ManifestError, run_study
    study.data_root = args.data
    study.shapes = dict(study.shapes, num_train=args.num_train, num_val=args.num_val)
    if args.fresh and not args.dry_run:
        shutil.rmtree(args.out, ignore_errors=True)
    t_start = time.time()
    try:
        code = run_study(study, args.out, seeds=args.seeds, rows=args.runs,
                         cfg_options=cfg_options(args), dry_run=args.dry_run)
    except ManifestError as e:  # e.g. --iters changed for runs already in --out
        print(f'quickstart: error: {e}', file=sys.stderr)
        return 2
    if args.dry_run:
        return 0
    with open(osp.join(args.out, 'table.md')) as f:
        md = f.read().rstrip()
    print()
    print('Class-agnostic recall (%) on the shapes val set; trained on base classes only '
          f'(mean ± std over seeds {",".join(map(str, args.seeds))})')
    print(md)
    print()
    log(f'wrote {args.out}/table.md, table.csv, results.json, ar_vs_k.png, score_hist.png '
        'and <run>/seed<S>/metrics.json')
    log(f'total time {(time.time() - t_start) / 60:.1f} min')
    return code


if __name__ == '__main__':
    sys.exit(main())
