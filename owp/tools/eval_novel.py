"""Class-agnostic recall on novel (and base) classes: of a results file, or of a model.

    python -m owp.tools.eval_novel --ann ANN.json --results PROPOSALS.json --split SPLIT \
        [--protocol remove|ignore|prefilter] [--max-dets 10,100|oln] [--subsets novel,base]
        [--out M.json]
    python -m owp.tools.eval_novel CONFIG CHECKPOINT [--split SPLIT] [--protocol ...]
        [--max-dets ...] [--subsets ...] [--out M.json] [--dump-proposals P.json]
        [--work-dir DIR] [--cfg-options ...]

Prints a table in percent. ``--out`` writes JSON whose keys are ``AR@<k>`` for
each k and ``ARs@<K>``, ``ARm@<K>``, ``ARl@<K>`` for the largest K, for the novel
classes, as fractions in [0, 1] (null where no box of that size exists), plus
OLN's ``AUC`` and ``AUC(AR@1=0)`` when K >= 1000; other subsets follow as
``base/AR@<k>`` ... ``--max-dets oln`` is OLN's k list, 10,20,30,50,100,300,500,
1000,1500. Protocols: 'remove' (pycocotools on the subset's boxes; the paper),
'ignore' (OLN's cross-category protocol, exactly), 'prefilter' (owp's former
'ignore'). Model mode: ``--dump-proposals`` writes the evaluated proposals as a
COCO results JSON, to evaluate again in results-file mode.
(``scripts/eval_novel.sh`` wraps this module.)
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
import warnings
from typing import Dict, List, Optional

# numpy only: parsing the command line imports nothing heavy
from owp.evaluation.functional.constants import OLN_MAX_DETS, PROTOCOLS, SUBSETS

__all__ = ['main', 'format_table', 'to_output_json']


def _ints(text: str) -> List[int]:
    if text.strip().lower() == 'oln':
        return list(OLN_MAX_DETS)
    try:
        ks = [int(k) for k in text.split(',') if k.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--max-dets must be comma-separated ints or 'oln', "
                                         f'got {text!r}')
    if not ks or min(ks) <= 0:
        raise argparse.ArgumentTypeError(f'--max-dets must be positive ints, got {text!r}')
    return ks


def _names(text: str) -> List[str]:
    return [s.strip() for s in text.split(',') if s.strip()]


def format_table(metrics: Dict[str, float]) -> str:
    """A fixed-width table of ``subset/key`` metrics, in percent."""
    subsets = sorted({k.split('/')[0] for k in metrics}, key=SUBSETS.index)
    keys = []
    for k in metrics:
        name = k.split('/', 1)[1]
        if name not in keys:
            keys.append(name)
    width = max(len(k) for k in keys + ['subset']) + 2
    lines = ['subset'.ljust(8) + ''.join(k.rjust(width) for k in keys)]
    for s in subsets:
        cells = [metrics.get(f'{s}/{k}') for k in keys]
        lines.append(s.ljust(8) + ''.join(
            ('-' if v is None else 'n/a' if v < 0 else f'{100 * v:.2f}').rjust(width)
            for v in cells))
    return '\n'.join(lines)


def to_output_json(metrics: Dict[str, float]) -> Dict[str, Optional[float]]:
    """Novel keys without their prefix (``AR@100``), other subsets kept prefixed.

    Values are fractions in [0, 1]; pycocotools' -1 (no box of that subset or
    area range, e.g. ``ARl`` on small-object data) becomes ``None`` (JSON null).
    """
    def value(v):
        return None if v < 0 else v

    out = {k.split('/', 1)[1]: value(v) for k, v in metrics.items() if k.startswith('novel/')}
    out.update({k: value(v) for k, v in metrics.items() if not k.startswith('novel/')})
    return out


def _check_targets(metrics: Dict[str, float], source: str) -> None:
    """Fail when a subset has no box at all: its recall is undefined, not 0."""
    for key, v in metrics.items():
        subset, name = key.split('/', 1)
        if name.startswith('AR@') and v < 0:
            raise SystemExit(f'eval_novel: error: {source} holds no (non-crowd) box of the '
                             f'{subset} classes on the evaluated images: {subset} recall is '
                             'undefined')


def _progress(total: int):
    start = time.time()
    last = [0.0]

    def report(done: int) -> None:
        now = time.time()
        if now - last[0] > 2 or done == total:
            last[0] = now
            print(f'[eval_novel] {done}/{total} images ({now - start:.1f} s)', file=sys.stderr,
                  flush=True)
    return report


def eval_results_file(args) -> Dict[str, float]:
    from owp.evaluation.functional.results_io import (
        ANNOTATION_COST,
        prefetch_results,
    )

    # a second process starts decoding the results file's tail while this one
    # reads the annotation file (it is stopped if anything fails first)
    head_start = ANNOTATION_COST * osp.getsize(args.ann) if osp.isfile(args.ann) else 0
    with prefetch_results(args.results, head_start) as results:
        return _eval_results_file(args, results)


def _eval_results_file(args, results) -> Dict[str, float]:
    from owp.evaluation.functional.protocols import evaluate_proposals
    from owp.evaluation.functional.results_io import load_json
    try:
        coco = load_json(args.ann, 'annotation')
    except (OSError, ValueError, MemoryError) as e:
        raise SystemExit(f'eval_novel: error: {e}')
    for key in ('images', 'annotations', 'categories'):
        if key not in coco:
            raise SystemExit(f'eval_novel: error: annotation file {args.ann!r} has no {key!r}')
    if not osp.isfile(args.results):
        raise SystemExit(f'eval_novel: error: results file {args.results!r} does not exist')
    try:
        # the path, not its objects: read straight into arrays (results_io)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            metrics = evaluate_proposals(coco, results, args.split, args.subsets,
                                         args.protocol, args.max_dets,
                                         progress=_progress(len(coco['images'])))
        for w in caught:
            print(f'eval_novel: warning: {args.results}: {w.message}', file=sys.stderr)
        return metrics
    except (ValueError, MemoryError) as e:
        entry = str(e).startswith('results') and not str(e).startswith('results file')
        raise SystemExit(f'eval_novel: error: {args.results}: {e}' if entry
                         else f'eval_novel: error: {e}')


def _keep_enough_proposals(test_cfg, kmax: int, config: str,
                           name: str = 'model.test_cfg') -> None:
    """Raise ``max_per_img`` of ``test_cfg`` (called ``name`` in messages) to the largest
    k, saying so (never lowers it).

    With fewer proposals kept per image than k, AR@k would silently equal
    AR@max_per_img. OLN's protocol evaluates 1500 per image.
    """
    kept = test_cfg.get('max_per_img')
    if kept is not None and kept < kmax:
        print(f'eval_novel: warning: {config} keeps {name}.max_per_img={kept} '
              f'proposals per image, fewer than the largest k ({kmax}): raised to {kmax} for '
              f'this evaluation (else AR@k for every k > {kept} would equal AR@{kept}); '
              f'--cfg-options {name}.max_per_img={kmax} silences this',
              file=sys.stderr)
    if kept is None or kept < kmax:
        test_cfg.max_per_img = kmax


def eval_model(args) -> Dict[str, float]:
    from mmengine.config import Config
    from mmengine.runner import Runner

    # registers owp modules; installs the safe checkpoint loader and the CPU DDP shim
    import owp.registration  # noqa: F401
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    ev = cfg.test_evaluator
    ev = ev[0] if isinstance(ev, (list, tuple)) else ev
    ann_file = ev.get('ann_file') or osp.join(cfg.test_dataloader.dataset.get('data_root', ''),
                                              cfg.test_dataloader.dataset.ann_file)
    split = args.split or ev.get('split') or cfg.get('owp_split')
    if split is None:
        raise SystemExit('eval_novel: error: no split: pass --split or set `owp_split` in the '
                         'config')
    cfg.test_evaluator = dict(type='OWPRecallMetric', ann_file=ann_file, split=split,
                              subsets=args.subsets, protocol=args.protocol,
                              max_dets=args.max_dets, base_ap=ev.get('base_ap', False),
                              dump_proposals=args.dump_proposals)
    # the block that decides the final boxes: test_cfg, or test_cfg.rcnn / .rpn of
    # two-stage and RPN models (OLN)
    from owp.utils import proposal_test_cfg
    test_cfg, name = proposal_test_cfg(cfg.model)
    if test_cfg is not None:
        _keep_enough_proposals(test_cfg, max(args.max_dets), args.config, name)
        if args.dump_proposals:
            test_cfg.with_score_components = True  # OWPFCOSHead's; other heads ignore it
    cfg.load_from = args.checkpoint
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0], 'eval_novel')
    runner = Runner.from_cfg(cfg)
    return {k: float(v) for k, v in runner.test().items()}


def _rank() -> int:
    from mmengine.dist import get_rank
    return get_rank()


class _CfgOptions(argparse.Action):
    """mmengine's ``DictAction``, imported only when ``--cfg-options`` is given:
    results-file mode never loads mmengine (nor torch, nor mmdet)."""

    def __call__(self, parser, namespace, values, option_string=None):
        from mmengine.config import DictAction
        DictAction(self.option_strings, self.dest)(parser, namespace, values, option_string)


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Class-agnostic recall on novel (and base) classes.',
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument('config', nargs='?', help='model config (model mode)')
    p.add_argument('checkpoint', nargs='?', help='checkpoint (model mode)')
    p.add_argument('--ann', help='full annotation file (results-file mode)')
    p.add_argument('--results', help='COCO results JSON of proposals (results-file mode)')
    p.add_argument('--split', help="split name ('coco-voc', 'lvis-freq', 'shapes') or file")
    p.add_argument('--protocol', default='remove', choices=PROTOCOLS,
                   help="'remove' (paper), 'ignore' (OLN's cross-category protocol) or "
                        "'prefilter' (owp's former 'ignore')")
    p.add_argument('--max-dets', type=_ints, default=[10, 100],
                   help="e.g. 10,100; 'oln' = 10,20,30,50,100,300,500,1000,1500")
    p.add_argument('--subsets', type=_names, default=['novel', 'base'],
                   help=f'comma-separated among {",".join(SUBSETS)}')
    p.add_argument('--out', help='write the metrics JSON here')
    p.add_argument('--dump-proposals', metavar='FILE',
                   help='model mode: also write the evaluated proposals (COCO results JSON, '
                        'with score components) to evaluate again with --results')
    p.add_argument('--work-dir', help='model mode: where mmengine writes its logs')
    p.add_argument('--cfg-options', nargs='+', action=_CfgOptions,
                   help='model mode overrides')
    p.add_argument('--launcher', default='none', choices=['none', 'pytorch', 'slurm', 'mpi'],
                   help='model mode: several processes, e.g. `torchrun --nproc_per_node N '
                   '-m owp.tools.eval_novel CONFIG CKPT --launcher pytorch` (rank 0 prints)')
    args = p.parse_args(argv)
    file_mode = args.ann is not None or args.results is not None
    if file_mode:
        if args.config or args.checkpoint:
            p.error('give either CONFIG CHECKPOINT or --ann/--results, not both')
        if not (args.ann and args.results and args.split):
            p.error('results-file mode needs --ann, --results and --split')
        if args.dump_proposals:
            p.error('--dump-proposals is for model mode (CONFIG CHECKPOINT); in results-file '
                    'mode the proposals are already a file')
    elif not (args.config and args.checkpoint):
        p.error('give CONFIG CHECKPOINT, or --ann ANN --results RESULTS --split SPLIT')
    bad = [s for s in args.subsets if s not in SUBSETS]
    if bad:
        p.error(f'--subsets: unknown {bad}; allowed: {", ".join(SUBSETS)}')
    return args, file_mode


def main(argv=None) -> int:
    args, file_mode = parse_args(argv)
    metrics = eval_results_file(args) if file_mode else eval_model(args)
    # Under a launcher every rank holds the metrics (mmengine broadcasts them);
    # rank 0 reports them.
    lead = file_mode or _rank() == 0
    if lead:
        print(format_table(metrics))
    _check_targets(metrics, args.ann if file_mode else args.config)
    if lead and args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(to_output_json(metrics), f, indent=1)
        print(f'[eval_novel] wrote {args.out}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
