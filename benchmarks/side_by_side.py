"""What the model-speed benchmarks share (``head_overhead.py``, ``oln_speed.py``).

Their options, the stock-FCOS / heaviest-OWP-head pair they both time, random
inputs, one train and one inference step, and the timing loop: these machines
are noisy, so every model runs once per repetition, in turn (all see the same
machine state), and the medians are compared.
"""
import argparse
import copy
import logging
import os.path as osp
import statistics
import sys
import time
import warnings
from typing import Callable, Dict, Mapping, Optional, Sequence, Tuple

import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)  # owp from this checkout
warnings.filterwarnings('ignore')

#: The two timed phases, in the order they are printed.
PHASES = ('train', 'infer')


def parse_args(description: str, reps: int, warmup: int,
               argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The benchmarks' options: backbone depth, input size, batch, repetitions, warm-up."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument('--depth', type=int, default=50, choices=[18, 34, 50, 101])
    p.add_argument('--size', type=int, default=512)
    p.add_argument('--batch', type=int, default=2)
    p.add_argument('--reps', type=int, default=reps)
    p.add_argument('--warmup', type=int, default=warmup)
    return p.parse_args(argv)


def build(cfg):
    """Build a model from its config and initialise its weights (without the log)."""
    from mmdet.registry import MODELS
    from mmengine.logging import MMLogger
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # init_weights logs every parameter
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    return model


def model_cfgs(depth: int):
    """Stock FCOS and the heaviest OWP head on the COCO FCOS model, random weights.

    The OWP head: conditional IoU + centerness branches, IoU sampling at 0.3 and
    unknown-object masking on, scored ``logits*iou``.
    """
    from mmengine.config import Config

    import owp.registration  # noqa: F401
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'coco', 'fcos_r50_fpn_90k_coco-voc.py'))
    m = cfg.model
    m.backbone.init_cfg = None
    if depth != 50:
        m.backbone.depth = depth
        m.neck.in_channels = [64, 128, 256, 512]
    owp_cfg = copy.deepcopy(m)
    owp_cfg.bbox_head.update(
        objectness_branches=('centerness', 'iou'), conditional_objectness=True,
        objectness_sampling='center', iou_sampling_thr=0.3,
        unknown_masking=dict(thr=0.95, start_iter=0))
    owp_cfg.test_cfg.score_mode = 'logits*iou'
    stock = copy.deepcopy(m)
    for k in ('objectness_branches', 'objectness_sampling', 'loss_iou'):
        stock.bbox_head.pop(k, None)
    stock.bbox_head.type = 'FCOSHead'
    stock.test_cfg.pop('score_mode', None)
    return stock, owp_cfg


def inputs(batch: int, size: int, num_classes: int):
    """mmdet's demo inputs: ``batch`` random 3 x size x size images with 8 boxes each."""
    from mmdet.testing import demo_mm_inputs
    return demo_mm_inputs(batch_size=batch, image_shapes=[(3, size, size)] * batch,
                          num_items=[8] * batch, num_classes=num_classes)


def train_step(model, opt, packed):
    """One optimizer step on the sum of the losses."""
    data = model.data_preprocessor(packed, True)
    losses = model(**data, mode='loss')
    # a loss is a tensor or, per FPN level, a list of them (RPN heads)
    loss = sum(sum(x.sum() for x in (v if isinstance(v, list) else [v]))
               for k, v in losses.items() if 'loss' in k)
    opt.zero_grad()
    loss.backward()
    opt.step()


@torch.no_grad()
def infer_step(model, packed):
    """One prediction, without gradients."""
    data = model.data_preprocessor(packed, False)
    model(**data, mode='predict')


def timed(fn: Callable[[], object]) -> float:
    """Seconds ``fn()`` takes."""
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def describe(args: argparse.Namespace) -> str:
    """The first line the benchmarks print: model, input, torch and its threads."""
    return (f'R{args.depth}-FPN, batch {args.batch} x 3 x {args.size} x {args.size}, '
            f'torch {torch.__version__}, {torch.get_num_threads()} threads')


def median_times(models: Mapping[str, torch.nn.Module], packed, reps: int, warmup: int,
                 progress: bool = False) -> Dict[Tuple[str, str], float]:
    """Median seconds of a train step and of an inference, per model.

    Every repetition runs each model in turn (a train step, then an inference);
    the first ``warmup`` repetitions are not counted. Each model trains with
    SGD (lr 1e-4, momentum 0.9).

    Returns:
        dict: ``(model name, phase) -> median seconds`` for each phase of ``PHASES``.
    """
    opts = {k: torch.optim.SGD(m.parameters(), lr=1e-4, momentum=0.9) for k, m in models.items()}
    times = {(k, phase): [] for k in models for phase in PHASES}
    for rep in range(warmup + reps):
        for k, m in models.items():  # alternate: every model sees the same machine state
            m.train()
            t_train = timed(lambda: train_step(m, opts[k], packed))
            m.eval()
            t_infer = timed(lambda: infer_step(m, packed))
            if rep >= warmup:
                times[(k, 'train')].append(t_train)
                times[(k, 'infer')].append(t_infer)
        if progress:
            print(f'rep {rep + 1}/{warmup + reps} done', flush=True)
    return {k: statistics.median(v) for k, v in times.items()}


def print_medians(med: Mapping[Tuple[str, str], float], names: Sequence[str], reps: int):
    """One line per phase: every model's median seconds."""
    for phase in PHASES:
        print(f'{phase}: ' + '   '.join(f'{k} {med[(k, phase)]:.3f} s' for k in names) +
              f' (median of {reps})')


def ratios(med: Mapping[Tuple[str, str], float], name: str, ref: str) -> str:
    """``train=X.XX infer=Y.YY``: model ``name``'s median time over model ``ref``'s."""
    return ' '.join(f'{phase}={med[(name, phase)] / med[(ref, phase)]:.2f}' for phase in PHASES)
