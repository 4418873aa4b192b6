#!/usr/bin/env python
"""Speed and memory of owp's class-agnostic AR as users run it, against the peers.

One LVIS-like workload (default 5,000 images x 12 boxes of 100 classes, 60 base
and 40 novel, x 300 proposals; a 140 MB results file), written to JSON files,
then measured side by side in one run:

* **CLI, end to end**: ``scripts/eval_novel.sh --ann --results --split
  --subsets novel`` (process start, imports, reading both files, evaluating,
  printing), and owp's default (novel and base); each peer as its users run it
  on files: ``COCO(gt.json)``, ``loadRes(results.json)``, ``COCOeval`` with
  ``useCats=0`` (``benchmarks/peer_eval.py``), given the annotation file
  already cut to the novel classes (owp gets the full file and the split);
* **library call**: the same, from lists already parsed with ``json``
  (owp: ``evaluate_proposals``);
* **pycocotools** on the first ``--pyc-images`` images (it takes minutes on all),
  against owp's CLI on the same subset.

Every measurement is a fresh process: wall time, CPU time (user + sys, all
threads) and peak RSS from ``os.wait4`` (the workload is written by another
process, so that this one stays small: Linux counts the parent's RSS at fork
into a child's peak). Runs under 10 s are repeated
(``--repeat``, round robin over the tools so that a busy machine hits all of
them alike) and the fastest kept. The answers (AR@k, ARs/ARm/ARl) are asserted
equal to 1e-9 before anything is printed. The peers live in a venv of their
own: run ``benchmarks/setup_peers.sh`` once.

    python benchmarks/eval_speed.py                # ~3 min on 2 cores
    python benchmarks/eval_speed.py --quick        # 500 images, smoke run
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PEERS_PYTHON = osp.join(ROOT, 'benchmarks', '.venv-peers', 'bin', 'python')
PEER_EVAL = osp.join(ROOT, 'benchmarks', 'peer_eval.py')
PEERS = ('ultrafast-pycocotools', 'hotcoco', 'faster-coco-eval')
KS = (10, 100, 300)
NUM_CLASSES, NUM_BASE = 100, 60


def workload(n_img, n_gt, n_det, seed=0):
    """COCO ground truth of ``NUM_CLASSES`` classes and class-agnostic proposals:
    jittered copies of the boxes plus clutter, scores with ties, in no order."""
    import numpy as np
    rng = np.random.default_rng(seed)
    wh = np.exp(rng.uniform(np.log(4), np.log(400), (n_img, n_gt, 2))).round(2)
    xy = rng.uniform(0, 600, (n_img, n_gt, 2)).round(2)
    crowd = rng.random((n_img, n_gt)) < 0.02
    cat = rng.integers(1, NUM_CLASSES + 1, (n_img, n_gt))
    images = [dict(id=i + 1, width=1000, height=1000) for i in range(n_img)]
    anns = [dict(id=i * n_gt + j + 1, image_id=i + 1, category_id=int(cat[i, j]),
                 bbox=[*xy[i, j].tolist(), *wh[i, j].tolist()],
                 area=float(wh[i, j, 0] * wh[i, j, 1]), iscrowd=int(crowd[i, j]))
            for i in range(n_img) for j in range(n_gt)]
    src = np.concatenate([xy, wh], -1)[np.arange(n_img)[:, None],
                                       rng.integers(0, n_gt, (n_img, n_det))]
    shift = rng.normal(0, 0.1, (n_img, n_det, 2)) * src[..., 2:]
    scale = np.exp(rng.uniform(np.log(0.75), np.log(1.33), (n_img, n_det, 2)))
    near = np.concatenate([src[..., :2] + shift, src[..., 2:] * scale], -1)
    clutter = np.concatenate([rng.uniform(0, 800, (n_img, n_det, 2)),
                              np.exp(rng.uniform(1, 6, (n_img, n_det, 2)))], -1)
    boxes = np.where((rng.random((n_img, n_det)) < 0.5)[..., None], near, clutter).round(2)
    scores = rng.random((n_img, n_det)).round(5)
    dets = [dict(image_id=i + 1, category_id=1, bbox=boxes[i, k].tolist(),
                 score=float(scores[i, k])) for i in range(n_img) for k in range(n_det)]
    coco = dict(images=images, annotations=anns,
                categories=[dict(id=c, name=f'class{c}') for c in range(1, NUM_CLASSES + 1)])
    return coco, dets


def write_files(folder, n_img, n_gt, n_det, pyc_images):
    """The workload as files; ``*_novel`` annotation files hold the novel classes only."""
    coco, dets = workload(n_img, n_gt, n_det)
    novel = set(range(NUM_BASE + 1, NUM_CLASSES + 1))
    split = dict(base=list(range(1, NUM_BASE + 1)), novel=sorted(novel))
    files = {}

    def dump(name, obj):
        files[name] = osp.join(folder, f'{name}.json')
        with open(files[name], 'w') as f:
            json.dump(obj, f)

    dump('split', split)
    for tag, n in (('', n_img), ('_sub', pyc_images)):
        keep = {im['id'] for im in coco['images'][:n]}
        c = dict(coco, images=coco['images'][:n],
                 annotations=[a for a in coco['annotations'] if a['image_id'] in keep])
        dump(f'ann{tag}', c)
        dump(f'ann_novel{tag}', dict(c, annotations=[a for a in c['annotations']
                                                     if a['category_id'] in novel]))
        dump(f'results{tag}', [d for d in dets if d['image_id'] in keep])
    return files


def measure(cmd, env=None):
    """Run ``cmd``; (wall s, CPU s, peak RSS MiB, stdout) of that process alone."""
    with tempfile.TemporaryFile('w+') as out, tempfile.TemporaryFile('w+') as err:
        start = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, text=True)
        _, status, ru = os.wait4(p.pid, 0)  # this child's own rusage
        wall = time.perf_counter() - start
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if p.returncode != 0:
            raise RuntimeError(f'{" ".join(cmd)} failed:\n{err.read()[-3000:]}')
        return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, out.read()


class Runner:
    """Commands measured round robin; keeps each one's fastest run."""

    def __init__(self, repeat, short=10.0):
        self.repeat, self.short = repeat, short
        self.best = {}

    def run(self, jobs):
        """``jobs``: {name: (cmd, env, parse)}; parse(stdout) -> stats dict."""
        for r in range(self.repeat):
            for name, (cmd, env, parse) in jobs.items():
                if r and self.best[name][0] >= self.short:
                    continue
                wall, cpu, rss, out = measure(cmd, env)
                print(f'   {name}: {wall:.2f} s', file=sys.stderr, flush=True)
                if name not in self.best or wall < self.best[name][0]:
                    self.best[name] = (wall, cpu, rss, parse(out))


def owp_cli(files, tag, subsets, out):
    env = dict(os.environ, PYTHON=sys.executable, PYTHONPATH=ROOT)
    cmd = ['bash', osp.join(ROOT, 'scripts', 'eval_novel.sh'), '--ann', files[f'ann{tag}'],
           '--results', files[f'results{tag}'], '--split', files['split'], '--subsets', subsets,
           '--max-dets', ','.join(map(str, KS)), '--out', out]

    def parse(_):
        with open(out) as f:
            m = json.load(f)
        return {k: (-1.0 if v is None else v) for k, v in m.items() if '/' not in k}
    return cmd, env, parse


def peer(tool, files, tag, library=False):
    py = sys.executable if tool == 'owp' else PEERS_PYTHON
    ann = files[f'ann{tag}'] if tool == 'owp' else files[f'ann_novel{tag}']
    cmd = [py, PEER_EVAL, tool, ann, files[f'results{tag}'], ','.join(map(str, KS))]
    if library:
        cmd.append('--library')
    if tool == 'owp':
        cmd += ['--split', files['split']]
    env = dict(os.environ, PYTHONPATH=ROOT, PYTHONWARNINGS='ignore')
    return cmd, env, lambda out: json.loads(out.strip().splitlines()[-1])


def check(results, reference='owp CLI'):
    ref = results[reference][3]
    for name, (_, _, _, stats) in results.items():
        stats = stats.get('stats', stats)
        for k, v in ref.items():
            if abs(stats[k] - v) > 1e-9:
                raise AssertionError(f'{name}: {k} = {stats[k]} but {reference} gives {v}')


def table(title, results, base, library=False):
    print(f'\n{title}')
    if library:
        print(f'   {"":34s} {"seconds":>8s} {"vs owp":>8s}')
        t0 = results[base][3]['seconds']
        for name, (_, _, _, stats) in results.items():
            print(f'   {name:34s} {stats["seconds"]:8.2f} {stats["seconds"] / t0:7.2f}x')
        return
    print(f'   {"":34s} {"wall s":>8s} {"CPU s":>7s} {"peak RSS":>10s} {"vs owp":>8s}')
    for name, (wall, cpu, rss, _) in results.items():
        print(f'   {name:34s} {wall:8.2f} {cpu:7.2f} {rss:6.0f} MiB '
              f'{wall / results[base][0]:7.2f}x')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--images', type=int, default=5000)
    p.add_argument('--boxes', type=int, default=12, help='ground-truth boxes per image')
    p.add_argument('--proposals', type=int, default=300, help='proposals per image')
    p.add_argument('--pyc-images', type=int, default=1000,
                   help='images of the pycocotools comparison')
    p.add_argument('--repeat', type=int, default=3, help='runs of each command under 10 s')
    p.add_argument('--quick', action='store_true', help='500 images, 2 repeats')
    p.add_argument('--keep', help='write the workload files here (default: a temp dir)')
    p.add_argument('--write-workload', help=argparse.SUPPRESS)  # internal: the child's job
    args = p.parse_args(argv)
    if args.write_workload:
        files = write_files(args.write_workload, args.images, args.boxes, args.proposals,
                            args.pyc_images)
        print(json.dumps(files))
        return
    if args.quick:
        args.images, args.repeat, args.pyc_images = 500, 2, 50
    if not osp.exists(PEERS_PYTHON):
        raise SystemExit(f'eval_speed: error: no peers venv at {PEERS_PYTHON}: run '
                         'benchmarks/setup_peers.sh first')
    folder = args.keep or tempfile.mkdtemp(prefix='owp_eval_speed_')
    os.makedirs(folder, exist_ok=True)
    files = json.loads(subprocess.run(
        [sys.executable, __file__, '--write-workload', folder, '--images', str(args.images),
         '--boxes', str(args.boxes), '--proposals', str(args.proposals),
         '--pyc-images', str(args.pyc_images)],
        check=True, capture_output=True, text=True).stdout)
    size = os.path.getsize(files['results']) / 2**20
    print(f'workload: {args.images} images x {args.boxes} boxes ({NUM_CLASSES} classes: '
          f'{NUM_BASE} base, {NUM_CLASSES - NUM_BASE} novel) x {args.proposals} proposals, '
          f'results file {size:.0f} MiB; AR@{"/".join(map(str, KS))} of the novel classes')
    out = osp.join(folder, 'metrics.json')
    out2 = osp.join(folder, 'metrics_both.json')

    cli = Runner(args.repeat)
    cli.run({'owp CLI': owp_cli(files, '', 'novel', out),
             'owp CLI, novel + base (default)': owp_cli(files, '', 'novel,base', out2),
             **{p: peer(p, files, '') for p in PEERS}})
    check(cli.best)
    lib = Runner(args.repeat)
    lib.run({'owp library': peer('owp', files, '', library=True),
             **{p: peer(p, files, '', library=True) for p in PEERS}})
    check(dict(lib.best, **{'owp CLI': cli.best['owp CLI']}))
    sub = Runner(args.repeat)
    sub.run({'owp CLI': owp_cli(files, '_sub', 'novel', out),
             'pycocotools': peer('pycocotools', files, '_sub')})
    check(sub.best)
    sub_lib = Runner(args.repeat)
    sub_lib.run({'owp library': peer('owp', files, '_sub', library=True),
                 'pycocotools': peer('pycocotools', files, '_sub', library=True)})
    check(dict(sub_lib.best, **{'owp CLI': sub.best['owp CLI']}))

    ar = cli.best['owp CLI'][3]
    print('answers equal (1e-9) for every tool: ' +
          ', '.join(f'{k} {v:.4f}' for k, v in ar.items()))
    table(f'CLI, end to end ({args.images} images, process start to printed table):',
          cli.best, 'owp CLI')
    table('library call (lists already parsed; seconds inside the process):', lib.best,
          'owp library', library=True)
    table(f'pycocotools on the first {args.pyc_images} images (CLI, end to end):', sub.best,
          'owp CLI')
    table(f'pycocotools on the first {args.pyc_images} images (library call):', sub_lib.best,
          'owp library', library=True)
    t = {k: v[0] for k, v in cli.best.items()}
    print('\nratio (their CLI wall time / owp CLI): ' + ' '.join(
        f'{k}={t[k] / t["owp CLI"]:.2f}' for k in PEERS) +
        f' pycocotools={sub.best["pycocotools"][0] / sub.best["owp CLI"][0]:.1f}'
        f' (library: {sub_lib.best["pycocotools"][3]["seconds"] / sub_lib.best["owp library"][3]["seconds"]:.0f})')


if __name__ == '__main__':
    main()
