#!/usr/bin/env python
"""The open-world loop on the synthetic shapes benchmark, end to end on a CPU.

1. generate the shapes benchmark (4 base + 4 novel classes) into ``--data``;
2. train FCOS variants on the **base** classes only, each with ``mim train``
   (novel objects are in the training images, unlabelled);
3. propose boxes on the validation images with several scoring rules;
4. measure class-agnostic AR@10 / AR@100 on the **novel** classes (and on the
   base classes), print the table, and write into ``--out``:
   ``metrics.json`` (every number), ``table.md`` (the table),
   ``score_hist.png`` (proposal-score histograms, paper fig. 5) and, per run,
   the mmengine work dir with logs and checkpoints.

Running it again retrains and overwrites every run folder in ``--out``;
``--reuse`` keeps a run whose final checkpoint exists. The dataset folder is
reused when it was made with the same generator settings.

    python scripts/quickstart.py                 # ~13 min on 2 cores
    python scripts/quickstart.py --iters 300     # a faster, weaker look
"""
import argparse
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time
import warnings

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHAPES = osp.join(REPO, 'configs', 'shapes')

# (run name, config, score modes to evaluate it with)
EXPERIMENTS = [
    ('fcos', 'fcos_r18-tiny_fpn_1k_shapes.py', ('logits*centerness', 'centerness')),
    ('owp-ctr', 'fcos-owp-ctr_r18-tiny_fpn_1k_shapes.py', ('centerness', )),
    ('owp-iou', 'fcos-owp-iou_r18-tiny_fpn_1k_shapes.py', ('iou', )),
    ('owp-iou-cs-is', 'fcos-owp-iou-cs-is_r18-tiny_fpn_1k_shapes.py', ('iou', )),
]
# Shapes objects are at most 72 px: no 'large' (> 96^2) box, so no ARl column.
TABLE_KEYS = ('novel/AR@10', 'novel/AR@100', 'novel/ARs@100', 'novel/ARm@100',
              'base/AR@10', 'base/AR@100')


def log(msg):
    print(f'[quickstart] {msg}', flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--out', default='outputs/quickstart', help='output folder')
    p.add_argument('--data', default='data/shapes', help='shapes dataset folder')
    p.add_argument('--num-train', type=int, default=800)
    p.add_argument('--num-val', type=int, default=200)
    p.add_argument('--iters', type=int, default=None,
                   help='training iterations per run (default: the configs\' max_iters)')
    p.add_argument('--runs', nargs='*', default=[e[0] for e in EXPERIMENTS],
                   choices=[e[0] for e in EXPERIMENTS], help='which runs to do')
    p.add_argument('--reuse', action='store_true',
                   help='keep runs whose final checkpoint already exists')
    p.add_argument('--batch-size', type=int, default=None, help='override train batch size')
    p.add_argument('--workers', type=int, default=None, help='override dataloader workers')
    args = p.parse_args(argv)
    if not args.runs:
        p.error('--runs: name at least one run')
    for opt in ('num_train', 'num_val', 'iters', 'batch_size'):
        v = getattr(args, opt)
        if v is not None and v < 1:
            p.error(f"--{opt.replace('_', '-')} must be >= 1, got {v}")
    if args.workers is not None and args.workers < 0:
        p.error(f'--workers must be >= 0, got {args.workers}')
    return args


def loader_options(args):
    opts = []
    if args.batch_size is not None:
        opts.append(f'train_dataloader.batch_size={args.batch_size}')
    if args.workers is not None:
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            opts.append(f'{key}.num_workers={args.workers}')
            if args.workers == 0:
                opts.append(f'{key}.persistent_workers=False')
    return opts


def train(name, config, args, max_iters):
    """Run ``mim train mmdet CONFIG`` and stream its progress lines."""
    from mmengine.config import Config

    from owp.utils import data_root_cfg_options
    work_dir = osp.join(args.out, name)
    final = osp.join(work_dir, f'iter_{max_iters}.pth')
    if args.reuse and osp.isfile(final):
        log(f'{name}: reusing {final}')
        return final
    shutil.rmtree(work_dir, ignore_errors=True)
    os.makedirs(work_dir)
    opts = data_root_cfg_options(Config.fromfile(config), args.data)
    opts += [f'train_cfg.max_iters={max_iters}', f'train_cfg.val_interval={max_iters + 1}',
             f'default_hooks.checkpoint.interval={max_iters}']
    if args.iters is not None:  # keep the lr step at the same fraction of training
        opts.append(f'param_scheduler.1.milestones=[{int(max_iters * 0.75)}]')
        opts.append(f'param_scheduler.1.end={max_iters}')
        opts.append(f'param_scheduler.0.end={min(100, max(1, max_iters // 10))}')
    opts += loader_options(args)
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    cmd = [mim, 'train', 'mmdet', config, '--work-dir', work_dir, '--cfg-options', *opts]
    log(f'{name}: training {max_iters} iterations on the base classes '
        f'({osp.relpath(config, REPO)})')
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    t0 = time.time()
    with open(osp.join(work_dir, 'train.log'), 'w') as logf:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=env, bufsize=1)
        tail = []
        for line in proc.stdout:
            logf.write(line)
            tail = (tail + [line])[-60:]
            if 'Iter(train)' in line:
                # "Iter(train) [ 200/1000] ... eta: 0:02:03 ... loss: 1.23 ..."
                msg = line.split('Iter(train)')[1].strip()
                fields = msg.split()
                keep = [fields[0] + fields[1]] if fields[0] == '[' else [fields[0]]
                for key in ('eta:', 'loss:'):
                    if key in fields:
                        keep.append(key + ' ' + fields[fields.index(key) + 1])
                log(f'{name}: ' + '  '.join(keep))
        proc.wait()
    if proc.returncode != 0:
        sys.stderr.write(''.join(tail))
        raise SystemExit(f'[quickstart] {name}: training failed (exit {proc.returncode}); '
                         f'full log: {work_dir}/train.log')
    log(f'{name}: trained in {time.time() - t0:.0f} s')
    return final


def evaluate(name, config, checkpoint, score_mode, args):
    """Propose boxes on the val set with ``score_mode``; return metrics and a score dump."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    from owp.utils import set_data_root
    cfg = Config.fromfile(config)
    set_data_root(cfg, args.data)
    tag = score_mode.replace('*', 'x').replace('(', '').replace(')', '')
    work_dir = osp.join(args.out, name, f'eval_{tag}')
    dump = osp.join(work_dir, 'scores.npz')
    cfg.model.test_cfg.score_mode = score_mode
    cfg.model.test_cfg.with_score_components = True
    cfg.test_evaluator = [
        cfg.test_evaluator,
        dict(type='OWPScoreDump', ann_file=cfg.test_evaluator.ann_file, out_file=dump,
             split=cfg.test_evaluator.split)
    ]
    if args.workers is not None:
        cfg.test_dataloader.num_workers = args.workers
        if args.workers == 0:
            cfg.test_dataloader.persistent_workers = False
    cfg.load_from = checkpoint
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    return {k: float(v) for k, v in metrics.items()}, dump


def main(argv=None):
    args = parse_args(argv)
    warnings.filterwarnings('ignore')
    sys.path.insert(0, REPO)  # run from a checkout without `pip install -e .` too
    from mmengine.config import Config

    import owp.registration  # noqa: F401  registers owp modules for the in-process evaluation
    from owp.analysis import load_score_dump, plot_score_histograms, recall_table, to_markdown
    from owp.datasets.shapes import ShapesConfig, generate_shapes

    t_start = time.time()
    os.makedirs(args.out, exist_ok=True)
    log(f'dataset: {args.data} ({args.num_train} train / {args.num_val} val images)')
    generate_shapes(args.data, ShapesConfig(num_train=args.num_train, num_val=args.num_val),
                    progress=True)

    runs = [e for e in EXPERIMENTS if e[0] in args.runs]
    rows, dumps = [], {}
    for name, cfg_name, modes in runs:
        config = osp.join(SHAPES, cfg_name)
        max_iters = args.iters if args.iters is not None else \
            Config.fromfile(config).train_cfg.max_iters
        ckpt = train(name, config, args, max_iters)
        for mode in modes:
            metrics, dump = evaluate(name, config, ckpt, mode, args)
            log(f'{name} scored by {mode}: novel AR@100 = {100 * metrics["novel/AR@100"]:.2f}')
            rows.append(dict(experiment=name, score=mode, config=osp.relpath(config, REPO),
                             checkpoint=ckpt, metrics=metrics))
            dumps[f'{name}: {mode}'] = load_score_dump(dump)

    table = recall_table(rows, TABLE_KEYS)
    elapsed = time.time() - t_start
    with open(osp.join(args.out, 'metrics.json'), 'w') as f:
        json.dump(dict(rows=rows, seconds=elapsed, args=vars(args)), f, indent=1)
    md = to_markdown(table)
    with open(osp.join(args.out, 'table.md'), 'w') as f:
        f.write(md + '\n')
    png = plot_score_histograms(dumps, osp.join(args.out, 'score_hist.png'))
    print()
    print('Class-agnostic recall (%) on the shapes val set; trained on base classes only')
    print(md)
    print()
    log(f'wrote {args.out}/metrics.json, {args.out}/table.md, {png}')
    log(f'total time {elapsed / 60:.1f} min')
    return 0


if __name__ == '__main__':
    sys.exit(main())
