"""Time a shapes training through mmdet's train tool (what ``mim train`` runs).

    python scripts/cuda_check/time_train.py CONFIG DATA_ROOT WORK_DIR [--iters 300]

Trains ``--iters`` iterations (validation at the end, as configured), then reads
mmengine's json log: ``time`` is the mean seconds per iteration of each logging
window (``data_time`` the part spent waiting for data). Prints and writes
``WORK_DIR/timing.json``: the median over the windows after the first (warm-up:
cuDNN autotuning, allocator growth, the first loader batches), the device, and
the validation record (recall, and ``time``: seconds per validation batch).
"""
import argparse
import glob
import json
import os.path as osp
import statistics
import subprocess
import sys
import time


def windows(log_lines):
    """Training log records (dicts with ``time``) of an mmengine json log, in order."""
    return [r for r in log_lines if 'time' in r and 'loss' in r]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config')
    p.add_argument('data_root')
    p.add_argument('work_dir')
    p.add_argument('--iters', type=int, default=300)
    args = p.parse_args(argv)
    import mmdet
    from mmengine.config import Config

    from owp.utils import data_root_cfg_options
    train = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'train.py')
    opts = data_root_cfg_options(Config.fromfile(args.config), args.data_root) + [
        f'train_cfg.max_iters={args.iters}', f'train_cfg.val_interval={args.iters}',
        f'default_hooks.checkpoint.interval={args.iters}']
    t0 = time.time()
    proc = subprocess.run([sys.executable, train, args.config, '--work-dir', args.work_dir,
                           '--cfg-options', *opts])
    wall = time.time() - t0
    if proc.returncode != 0:
        sys.exit(f'training failed (exit {proc.returncode}); log in {args.work_dir}')
    logs = sorted(glob.glob(osp.join(args.work_dir, '*', 'vis_data', '[0-9]*.json')))
    if not logs:
        sys.exit(f'no json log under {args.work_dir}/*/vis_data/')
    with open(logs[-1]) as f:
        records = [json.loads(line) for line in f if line.strip()]
    rows = windows(records)
    if len(rows) < 2:
        sys.exit(f'{logs[-1]}: fewer than 2 logging windows; train more iterations')
    import torch
    out = dict(config=osp.basename(args.config), iters=args.iters,
               device=torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu',
               s_per_it=statistics.median(r['time'] for r in rows[1:]),
               data_s_per_it=statistics.median(r['data_time'] for r in rows[1:]),
               first_window_s_per_it=rows[0]['time'], wall_s=round(wall, 1),
               val=[r for r in records if any('/AR' in k for k in r)])
    with open(osp.join(args.work_dir, 'timing.json'), 'w') as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
