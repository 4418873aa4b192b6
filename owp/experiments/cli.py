"""``python -m owp.experiments {run,status,table,claims,evaluate} STUDY ...``.

    python -m owp.experiments run table1_shapes --seeds 0,1,2      # train, evaluate, tabulate
    python -m owp.experiments run table1_coco --dry-run --launcher slurm --gpus 8 \
        --gpus-per-node 8 --partition PART                          # print every command
    python -m owp.experiments status table1_shapes                 # done/running/failed/waiting
    python -m owp.experiments table table1_shapes                  # tables + the study README
    python -m owp.experiments claims table1_shapes                 # verdict per claim
    python -m owp.experiments claims --all --readme README.md      # every study's, from results/

STUDY is a folder name under ``experiments/``, a study folder or a manifest.
Run the same ``run`` command again after a crash or a kill: finished runs are
kept, interrupted ones resume from their last checkpoint.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

__all__ = ['main', 'parse_args']


def _seeds(text: str) -> List[int]:
    try:
        seeds = [int(s) for s in text.split(',') if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f'--seeds must be comma-separated ints, got {text!r}')
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f'--seeds must be distinct non-negative ints, '
                                         f'got {text!r}')
    return seeds


def _names(text: str) -> List[str]:
    return [s.strip() for s in text.split(',') if s.strip()]


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(prog='python -m owp.experiments', description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='command', required=True)

    def common(sp):
        sp.add_argument('study', help='study name (experiments/<name>), folder or manifest')
        sp.add_argument('--work-dir', help='default: work_dirs/experiments/<study>')

    run = sub.add_parser('run', help='train, evaluate and tabulate what is not done yet')
    common(run)
    run.add_argument('--seeds', type=_seeds, help="e.g. 0,1,2 (default: the manifest's)")
    run.add_argument('--rows', type=_names, help='comma-separated row names (default: all)')
    run.add_argument('--dry-run', action='store_true', help='print every command, run nothing')
    run.add_argument('--no-reuse', action='store_true',
                     help="train every run, even one the manifest's reuse_from studies have")
    run.add_argument('--launcher', default='none', choices=['none', 'pytorch', 'slurm'],
                     help="mim train's launcher (MMEngine's)")
    run.add_argument('--gpus', type=int)
    run.add_argument('--gpus-per-node', type=int)
    run.add_argument('--cpus-per-task', type=int)
    run.add_argument('--partition')
    run.add_argument('--srun-args')
    run.add_argument('--port', type=int)
    run.add_argument('--cfg-options', nargs='+', action=DictAction,
                     help='overrides for every run (after the manifest\'s)')

    st = sub.add_parser('status', help='done / running / failed / interrupted / waiting')
    common(st)
    st.add_argument('--seeds', type=_seeds)

    tb = sub.add_parser('table', help="aggregate the finished runs; update the study README")
    common(tb)
    tb.add_argument('--no-readme', action='store_true', help='do not touch the study README')

    cl = sub.add_parser('claims', help="measure the manifest's claims over seeds; update the "
                                       'study README (--all: every study, from its results/)')
    cl.add_argument('study', nargs='?', help='study name, folder or manifest (or --all)')
    cl.add_argument('--work-dir', help='default: work_dirs/experiments/<study>')
    cl.add_argument('--no-readme', action='store_true', help='do not touch the study README')
    cl.add_argument('--all', action='store_true',
                    help='every study with claims, from the runs committed in '
                         'experiments/<study>/results/; prints the summary')
    cl.add_argument('--readme', help='with --all: write the summary between the claims-summary '
                                     'markers of this file (e.g. README.md)')

    ev = sub.add_parser('evaluate', help='evaluate one trained run (what `run` does after '
                                         'training; slurm runs it with srun)')
    common(ev)
    ev.add_argument('--row', required=True)
    ev.add_argument('--seed', type=int, required=True)
    ev.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = p.parse_args(argv)
    if args.command == 'claims':
        if args.all == bool(args.study):
            p.error('claims: name a STUDY or give --all, not both')
        if args.all and (args.work_dir or args.no_readme):
            p.error('claims --all reads experiments/<study>/results/ and updates the study '
                    'READMEs: --work-dir and --no-readme are for one study')
        if args.readme and not args.all:
            p.error('claims --readme (the summary across studies) needs --all')
    for opt in ('gpus', 'gpus_per_node', 'cpus_per_task'):
        v = getattr(args, opt, None)
        if v is not None and v < 0:
            p.error(f"--{opt.replace('_', '-')} must be >= 0, got {v}")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from .manifest import ManifestError, load_study
    from .runner import Launch, plan_runs, run_study, study_status, tabulate, write_metrics
    try:
        if args.command == 'claims' and args.all:
            from .claims import update_all_claims
            print(update_all_claims(readme=args.readme))
            return 0
        study = load_study(args.study)
        work_dir = args.work_dir or osp.join('work_dirs', 'experiments', study.name)
        if args.command == 'run':
            launch = Launch(args.launcher, args.gpus, args.gpus_per_node, args.cpus_per_task,
                            args.partition, args.srun_args, args.port)
            return run_study(study, work_dir, args.seeds, args.rows, launch,
                             args.cfg_options, args.dry_run, reuse=not args.no_reuse)
        if args.command == 'status':
            rows = study_status(study, work_dir, args.seeds)
            width = max(len(k) for k, _, _ in rows)
            for key, state, detail in rows:
                print(f'{key.ljust(width)}  {state:<11}  {detail}'.rstrip())
            counts = {}
            for _, state, _ in rows:
                counts[state] = counts.get(state, 0) + 1
            print(', '.join(f'{n} {s}' for s, n in sorted(counts.items())))
            return 0
        if args.command == 'table':
            readme = None if args.no_readme else osp.join(study.folder, 'README.md')
            out = tabulate(study, work_dir, readme)
            with open(out['table.md']) as f:
                print(f.read().rstrip())
            print(f'[owp.experiments] wrote {", ".join(sorted(out.values()))}', file=sys.stderr)
            return 0
        if args.command == 'claims':
            from .aggregate import update_readme
            from .claims import CLAIMS_BEGIN, CLAIMS_END, write_claims
            if not study.claims:
                raise ValueError(f'{study.manifest}: the study states no claims (add a '
                                 '`claims:` list; see docs/design.md, "Claims")')
            out = write_claims(study, work_dir)
            with open(out['claims.md']) as f:
                text = f.read()
            if not args.no_readme:
                update_readme(osp.join(study.folder, 'README.md'), text, CLAIMS_BEGIN, CLAIMS_END)
            print(text.rstrip())
            print(f'[owp.experiments] wrote {", ".join(sorted(out.values()))}', file=sys.stderr)
            return 0
        # evaluate
        import time
        spec = [s for s in plan_runs(study, work_dir, [args.seed], [args.row], args.cfg_options)
                if s.row == args.row][0]
        from .runner import evaluate_run
        t0 = time.time()
        write_metrics(study, spec, evaluate_run(study, spec), time.time() - t0)
        return 0
    except (ManifestError, ValueError) as e:
        print(f'owp.experiments: error: {e}', file=sys.stderr)
        return 2
