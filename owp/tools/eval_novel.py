"""Class-agnostic recall on novel (and base) classes: of a results file, or of a model.

    python -m owp.tools.eval_novel --ann ANN.json --results PROPOSALS.json --split SPLIT \
        [--protocol remove|ignore] [--max-dets 10,100] [--subsets novel,base] [--out M.json]
    python -m owp.tools.eval_novel CONFIG CHECKPOINT [--split SPLIT] [--protocol ...]
        [--max-dets ...] [--subsets ...] [--out M.json] [--work-dir DIR] [--cfg-options ...]

Prints a table in percent. ``--out`` writes JSON whose keys are ``AR@<k>`` for
each k and ``ARs@<K>``, ``ARm@<K>``, ``ARl@<K>`` for the largest K, for the novel
classes, as fractions in [0, 1] (null where no box of that size exists); other
subsets follow as ``base/AR@<k>`` ...
(``scripts/eval_novel.sh`` wraps this module.)
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional

__all__ = ['main', 'format_table', 'to_output_json']


def _ints(text: str) -> List[int]:
    try:
        ks = [int(k) for k in text.split(',') if k.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f'--max-dets must be comma-separated ints, got {text!r}')
    if not ks or min(ks) <= 0:
        raise argparse.ArgumentTypeError(f'--max-dets must be positive ints, got {text!r}')
    return ks


def _names(text: str) -> List[str]:
    return [s.strip() for s in text.split(',') if s.strip()]


def format_table(metrics: Dict[str, float]) -> str:
    """A fixed-width table of ``subset/key`` metrics, in percent."""
    subsets = sorted({k.split('/')[0] for k in metrics}, key=['novel', 'base', 'all'].index)
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
    from owp.evaluation.functional.proposals import evaluate_proposals
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
        return evaluate_proposals(coco, args.results, args.split, args.subsets, args.protocol,
                                  args.max_dets, progress=_progress(len(coco['images'])))
    except (ValueError, MemoryError) as e:
        entry = str(e).startswith('results') and not str(e).startswith('results file')
        raise SystemExit(f'eval_novel: error: {args.results}: {e}' if entry
                         else f'eval_novel: error: {e}')


def eval_model(args) -> Dict[str, float]:
    import owp.registration  # noqa: F401  (registers owp modules)
    from mmengine.config import Config
    from mmengine.runner import Runner
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
                              max_dets=args.max_dets, base_ap=ev.get('base_ap', False))
    if cfg.model.get('test_cfg') is not None:
        cfg.model.test_cfg.max_per_img = max(args.max_dets)
    cfg.load_from = args.checkpoint
    cfg.work_dir = args.work_dir or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0], 'eval_novel')
    runner = Runner.from_cfg(cfg)
    return {k: float(v) for k, v in runner.test().items()}


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
    p.add_argument('--protocol', default='remove', choices=['remove', 'ignore'])
    p.add_argument('--max-dets', type=_ints, default=[10, 100], help='e.g. 10,100')
    p.add_argument('--subsets', type=_names, default=['novel', 'base'],
                   help='comma-separated among novel,base,all')
    p.add_argument('--out', help='write the metrics JSON here')
    p.add_argument('--work-dir', help='model mode: where mmengine writes its logs')
    p.add_argument('--cfg-options', nargs='+', action=_CfgOptions,
                   help='model mode overrides')
    args = p.parse_args(argv)
    file_mode = args.ann is not None or args.results is not None
    if file_mode:
        if args.config or args.checkpoint:
            p.error('give either CONFIG CHECKPOINT or --ann/--results, not both')
        if not (args.ann and args.results and args.split):
            p.error('results-file mode needs --ann, --results and --split')
    elif not (args.config and args.checkpoint):
        p.error('give CONFIG CHECKPOINT, or --ann ANN --results RESULTS --split SPLIT')
    bad = [s for s in args.subsets if s not in ('novel', 'base', 'all')]
    if bad:
        p.error(f'--subsets: unknown {bad}; allowed: novel, base, all')
    return args, file_mode


def main(argv=None) -> int:
    args, file_mode = parse_args(argv)
    metrics = eval_results_file(args) if file_mode else eval_model(args)
    print(format_table(metrics))
    _check_targets(metrics, args.ann if file_mode else args.config)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(to_output_json(metrics), f, indent=1)
        print(f'[eval_novel] wrote {args.out}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
