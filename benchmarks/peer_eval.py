"""One peer evaluator's class-agnostic AR on a workload, as its users run it.

Runs in the peers' own venv (``benchmarks/setup_peers.sh``), started by
``benchmarks/eval_speed.py``, which times the whole process from outside:

    peer_eval.py TOOL GT.json RESULTS.json K1,K2,K3 [--library]
    peer_eval.py owp GT.json RESULTS.json K1,K2,K3 --library --split SPLIT.json


Files mode (default): ``COCO(GT.json)``, ``loadRes(RESULTS.json)`` (each tool
reads the files with its own loader), then ``COCOeval`` with ``useCats=0``
and ``maxDets=[K1, K2, K3]``. ``--library``: the files are parsed with ``json``
first, untimed, and the printed ``seconds`` cover building the tool's objects
from the parsed lists and evaluating. Prints one JSON line:
``{"seconds": ..., "stats": {"AR@K1": ..., ..., "ARl@K3": ...}}``.

``owp`` (run with owp's own Python; library mode only, its files mode is
``scripts/eval_novel.sh``): ``evaluate_proposals`` on the parsed lists, the
novel classes of ``SPLIT.json`` as targets (GT.json holds every class).
"""
import contextlib
import io
import json
import sys
import time

TOOLS = ('pycocotools', 'faster-coco-eval', 'hotcoco', 'ultrafast-pycocotools')


def _classes(tool):
    if tool == 'pycocotools':
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
        return COCO, COCOeval
    if tool == 'faster-coco-eval':
        from faster_coco_eval import COCO, COCOeval_faster
        return COCO, (lambda gt, dt, kind: COCOeval_faster(gt, dt, kind,
                                                          print_function=lambda *a: None))
    if tool == 'hotcoco':
        from hotcoco import COCO, COCOeval
        return COCO, COCOeval
    if tool == 'ultrafast-pycocotools':
        from ultrafast_pycocotools import COCO, COCOeval
        return COCO, COCOeval
    raise SystemExit(f'peer_eval: unknown tool {tool!r}; one of {TOOLS}')


def _gt(tool, COCO, ann):
    if tool == 'pycocotools' and not isinstance(ann, str):
        gt = COCO()
        gt.dataset = ann
        gt.createIndex()
        return gt
    return COCO(ann)


def _owp(ann, res, ks, split):
    from owp.evaluation.functional.protocols import evaluate_proposals
    with open(split) as f:
        split = json.load(f)
    start = time.perf_counter()
    out = evaluate_proposals(ann, res, split, ('novel', ), 'remove', ks)
    return time.perf_counter() - start, {k.split('/')[1]: v for k, v in out.items()}


def main(argv):
    tool, ann, res, ks = argv[:4]
    ks = [int(k) for k in ks.split(',')]
    library = '--library' in argv
    if library:
        with open(ann) as f:
            ann = json.load(f)
        with open(res) as f:
            res = json.load(f)
    if tool == 'owp':
        seconds, stats = _owp(ann, res, ks, argv[argv.index('--split') + 1])
        print(json.dumps(dict(seconds=seconds, stats=stats)))
        return
    COCO, COCOeval = _classes(tool)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        gt = _gt(tool, COCO, ann)
        ev = COCOeval(gt, gt.loadRes(res), 'bbox')
        ev.params.useCats = 0
        ev.params.maxDets = ks
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    seconds = time.perf_counter() - start
    s = [float(v) for v in ev.stats]
    k1, k2, k3 = ks
    stats = {f'AR@{k1}': s[6], f'AR@{k2}': s[7], f'AR@{k3}': s[8], f'ARs@{k3}': s[9],
             f'ARm@{k3}': s[10], f'ARl@{k3}': s[11]}
    print(json.dumps(dict(seconds=seconds, stats=stats)))


if __name__ == '__main__':
    main(sys.argv[1:])
