"""owp on CUDA: the heads, hooks and evaluator give the CPU's numbers on a GPU.

owp's real-data configs are GPU configs, but CI has no GPU: this file is the check
that runs on a machine that has one (docs/cuda_check.md says how). It is skipped,
with the reason, unless torch sees a CUDA device and mmcv's compiled ops (``nms``,
``roi_align``, ``sigmoid_focal_loss``: what mmdet's FCOS and OLN paths call) run on it.

For each model kind (stock FCOS, OWP IoU-CS-IS, conditional IoU-CS-IS, joint +
unknown masking active from iteration 0, with and without area masking, OLN-RPN,
OLN-Box, OLN with classification scored by objectness), built from its shapes
config with one set of weights and fed one real shapes batch:

* the loss dict on CUDA equals the CPU's (float32 on both: TF32 is switched off);
* a few AdamW steps on CUDA keep every loss finite and change the weights;
* ``predict`` on CUDA gives the CPU's boxes and scores.

Then a short training through mmdet's train tool (what ``mim train`` runs) on CUDA
with a validation at the end (hooks and ``OWPRecallMetric`` see CUDA tensors), and
its last checkpoint, saved from CUDA, loads on CPU through owp's safe loader and
gives on CPU the recall that the CUDA validation measured.

Tolerances: float32 on both devices, TF32 off, so the two runs differ only by the
order of floating-point sums (cuDNN vs oneDNN convolutions, parallel reductions)
and mmcv's CUDA focal-loss kernel vs mmdet's PyTorch focal loss (same formula).
Relative differences of sums of 10^4-10^5 float32 terms are ~1e-6; ``LOSS_RTOL`` =
1e-4 leaves two orders of magnitude of margin and is still far below what a wrong
target, mask or loss term moves (a tensor left on the CPU inside a head fails
outright). Predicted scores are products of sigmoids of such
outputs: ``SCORE_ATOL`` 1e-4. Proposals whose score or NMS decision lies
within rounding of a tie may swap places, so boxes are matched one to one (IoU
>= 0.99 and equal score) and ``MATCH_MIN`` of them must match.
"""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from conftest import CONFIGS, REPO, point_config_at, tiny_shapes_config

LOSS_RTOL = 1e-4
LOSS_ATOL = 1e-6
SCORE_ATOL = 1e-4
BOX_IOU_MIN = 0.99
MATCH_MIN = 0.98
STEPS = 3
E2E_ITERS = 100
#: The device checked against the CPU.
DEVICE = 'cuda'

# name: (config under configs/shapes, overrides of the model config)
# Unknown masking: start_iter 0 makes it act from the first step; thr 0.05 puts every
# candidate of a freshly initialised head (IoU probabilities near 0.5) far above the
# threshold, so the masked set is large and no point sits within rounding of it.
MODELS = {
    'fcos': ('fcos_r18-tiny_fpn_1k_shapes.py', {}),
    'owp-iou-cs-is': ('fcos-owp-iou-cs-is_r18-tiny_fpn_1k_shapes.py', {}),
    'cond-iou-cs-is': ('fcos-owp-cond-iou-cs-is_r18-tiny_fpn_1k_shapes.py', {}),
    'joint-unknown': ('fcos-owp-iou-cs-is-joint-unknown_r18-tiny_fpn_1k_shapes.py',
                      {'bbox_head.unknown_masking': dict(thr=0.05, start_iter=0)}),
    'joint-unknown-area': ('fcos-owp-iou-cs-is-joint-unknown_r18-tiny_fpn_1k_shapes.py',
                           {'bbox_head.unknown_masking': dict(thr=0.05, start_iter=0,
                                                              area=True, area_nms_iou=0.5)}),
    'oln-rpn': ('oln-rpn_r18-tiny_fpn_1k_shapes.py', {}),
    'oln-box': ('oln-box_r18-tiny_fpn_1k_shapes.py', {}),
    # a trained classifier's class-specific boxes under an objectness-only score: the
    # box head picks each RoI's most probable class's box (OLNBBoxHead.predict_by_feat)
    'oln-box-cls-objectness': ('oln-box-cls_r18-tiny_fpn_1k_shapes.py',
                               {'test_cfg.rcnn.score_mode': 'sqrt(centerness*iou)'}),
}


def cuda_skip_reason():
    """Why the CUDA check cannot run here (None when it can)."""
    if not torch.cuda.is_available():
        return 'no CUDA device (torch.cuda.is_available() is False)'
    try:
        from mmcv.ops import nms, roi_align, sigmoid_focal_loss
        boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]], device='cuda')
        nms(boxes, torch.tensor([0.9, 0.8], device='cuda'), 0.5)
        roi_align(torch.ones(1, 1, 4, 4, device='cuda'),
                  torch.tensor([[0., 0., 0., 3., 3.]], device='cuda'), (2, 2), 1.0, 0)
        sigmoid_focal_loss(torch.zeros(2, 3, device='cuda'),
                           torch.tensor([0, 3], device='cuda'), 2.0, 0.25, None, 'mean')
        torch.cuda.synchronize()
    except Exception as e:  # an mmcv built without CUDA ops, or not importable
        return f"mmcv's compiled ops do not run on CUDA: {type(e).__name__}: {e}"
    return None


SKIP_REASON = cuda_skip_reason()
needs_cuda = pytest.mark.skipif(SKIP_REASON is not None, reason=str(SKIP_REASON))


@pytest.fixture(scope='module')
def shapes_160(tmp_path_factory):
    """A small shapes set at the configs' own 160 px (path with trailing slash)."""
    from owp.datasets.shapes import generate_shapes
    root = tmp_path_factory.mktemp('shapes160')
    generate_shapes(str(root), tiny_shapes_config(num_train=24, num_val=16,
                                                  img_size=(160, 160), min_size=10,
                                                  max_size=72, max_objects=8))
    return str(root) + '/'


@pytest.fixture(scope='module', autouse=True)
def quiet_logger():
    """mmengine's INFO lines (one per parameter when an optimizer is built) off."""
    from mmengine.logging import MMLogger
    MMLogger.get_instance('owp_test_cuda', log_level='WARNING')


@pytest.fixture
def fp32_cuda():
    """Full float32 matrix products and convolutions on CUDA (no TF32) inside the test.

    Set, never read: torch >= 2.9 raises when the legacy flags are read after its
    newer ``fp32_precision`` API was used. Restored to torch's defaults.
    """
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32 = True


def _set(cfg, dotted, value):
    """``cfg[a][b]...= value`` for ``dotted='a.b...'`` (creating nothing)."""
    *parents, last = dotted.split('.')
    for key in parents:
        cfg = cfg[key]
    cfg[last] = value


def _config(name, data_root):
    from mmengine.config import Config
    path, overrides = MODELS[name]
    cfg = Config.fromfile(osp.join(CONFIGS, 'shapes', path))
    point_config_at(cfg, data_root)
    for k, v in overrides.items():
        _set(cfg.model, k, v)
    return cfg


def _build(cfg, device):
    from mmdet.registry import MODELS as REGISTRY
    from mmengine.registry import init_default_scope

    import owp.registration  # noqa: F401  (what custom_imports does)
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = REGISTRY.build(cfg.model)
    model.init_weights()
    return model.to(device)


def _batch(cfg, train):
    """One collated batch (2 images) of the config's own train or val pipeline."""
    from mmdet.registry import DATASETS
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    loader = cfg.train_dataloader if train else cfg.val_dataloader
    dataset = DATASETS.build(loader.dataset)
    return pseudo_collate([dataset[i] for i in range(2)])


def _losses(model, batch):
    """The model's loss dict (each value one float tensor or a list of them), seeded.

    The seed fixes the samplers' draws (mmdet's RandomSampler permutes on the
    CPU generator on either device), so both devices sample the same RoIs.
    """
    torch.manual_seed(0)
    data = model.data_preprocessor(batch, True)
    return model(**data, mode='loss')


def _total(losses):
    return sum(sum(x.sum() for x in (v if isinstance(v, list) else [v]))
               for k, v in losses.items() if 'loss' in k)


def _flat(losses):
    """``{key: float64 CPU tensor}``, per-level lists stacked."""
    return {k: (torch.stack([x.detach() for x in v]) if isinstance(v, list) else v.detach())
            .double().cpu() for k, v in losses.items()}


def _loss_mismatches(cpu, cuda):
    """Keys whose values differ beyond the tolerance, with both values.

    Losses and ``num_unknown_masked`` within ``LOSS_RTOL``; OLN-Box's ``acc`` (the
    percentage of ~400 sampled RoIs whose arg-max class is right) may move by one
    RoI whose two class logits tie within rounding: 1 percentage point.
    """
    a, b = _flat(cpu), _flat(cuda)
    assert a.keys() == b.keys()
    return {k: (a[k].tolist(), b[k].tolist()) for k in a
            if not torch.allclose(b[k], a[k], rtol=0 if k == 'acc' else LOSS_RTOL,
                                  atol=1.0 if k == 'acc' else LOSS_ATOL)}


def match_predictions(a, b, iou_min=BOX_IOU_MIN, score_atol=SCORE_ATOL):
    """How many detections of ``a`` have a partner in ``b`` (one to one).

    Args:
        a: ``(boxes (N, 4) xyxy, scores (N,), labels (N,))``, CPU tensors.
        b: The same for the other device, (M, ...).
        iou_min: Minimum IoU of partners.
        score_atol: Maximum absolute score difference of partners.

    Returns:
        int: the number of matched detections of ``a``; ``min(N, M)`` when the
        two agree detection for detection.
    """
    from mmdet.structures.bbox import bbox_overlaps
    (ba, sa, la), (bb, sb, lb) = a, b
    if len(ba) == 0 or len(bb) == 0:
        return 0
    ok = (bbox_overlaps(ba, bb) >= iou_min) & \
        ((sa[:, None] - sb[None, :]).abs() <= score_atol) & (la[:, None] == lb[None, :])
    used = torch.zeros(len(bb), dtype=torch.bool)
    matched = 0
    for i in range(len(ba)):
        cand = (ok[i] & ~used).nonzero().reshape(-1)
        if len(cand):
            used[cand[0]] = True
            matched += 1
    return matched


def test_match_predictions_counts_one_to_one():
    boxes = torch.tensor([[0., 0., 10., 10.], [20., 20., 30., 30.], [0., 0., 10., 10.]])
    scores = torch.tensor([0.9, 0.5, 0.9])
    labels = torch.zeros(3, dtype=torch.long)
    a = (boxes[:2], scores[:2], labels[:2])
    assert match_predictions(a, a) == 2
    # one box moved, one score off, a label changed: each loses its partner
    assert match_predictions(a, (boxes[:2] + torch.tensor([[0.], [5.]]), scores[:2],
                                 labels[:2])) == 1
    assert match_predictions(a, (boxes[:2], scores[:2] + torch.tensor([0., 1e-3]),
                                 labels[:2])) == 1
    assert match_predictions(a, (boxes[:2], scores[:2], torch.tensor([0, 1]))) == 1
    # two equal detections cannot share one partner
    assert match_predictions((boxes[[0, 2]], scores[[0, 2]], labels[[0, 2]]), a) == 1


def _predictions(model, batch):
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(batch, False)
        results = model(**data, mode='predict')
    return [(r.pred_instances.bboxes.cpu(), r.pred_instances.scores.cpu(),
             r.pred_instances.labels.cpu()) for r in results]


@needs_cuda
@pytest.mark.parametrize('name', list(MODELS))
def test_cuda_equals_cpu(name, shapes_160, fp32_cuda, record_property):
    """Loss dict, training steps and predictions: CUDA against CPU, one set of weights."""
    from mmengine.optim import build_optim_wrapper
    cfg = _config(name, shapes_160)
    train_batch, val_batch = _batch(cfg, True), _batch(cfg, False)
    cpu = _build(cfg, 'cpu')
    gpu = _build(cfg, DEVICE)
    gpu.load_state_dict(cpu.state_dict())
    cpu.train()
    gpu.train()

    # (a) the loss dict
    cpu_losses, gpu_losses = _losses(cpu, train_batch), _losses(gpu, train_batch)
    for k, v in gpu_losses.items():
        for x in (v if isinstance(v, list) else [v]):
            assert x.device.type == DEVICE, f'{name}: {k} is on {x.device}'
    record_property('losses', {k: v.tolist() for k, v in _flat(gpu_losses).items()})
    bad = _loss_mismatches(cpu_losses, gpu_losses)
    assert not bad, f'{name}: CUDA losses differ from CPU ones (key: (cpu, cuda)): {bad}'
    if name.startswith('joint-unknown'):
        assert gpu_losses['num_unknown_masked'] > 0, 'unknown masking did not act'
    names = [n for n, p in cpu.named_parameters() if p.requires_grad]
    grads_cpu = torch.autograd.grad(_total(cpu_losses), [p for p in cpu.parameters()
                                                         if p.requires_grad], allow_unused=True)
    grads_gpu = torch.autograd.grad(_total(gpu_losses), [p for p in gpu.parameters()
                                                         if p.requires_grad], allow_unused=True)
    for pname, gc, gg in zip(names, grads_cpu, grads_gpu):
        assert (gc is None) == (gg is None), pname
        if gc is not None:  # gradients: same sums, looser (many more of them)
            scale = gc.abs().max().clamp(min=1e-12)
            assert ((gg.cpu() - gc).abs().max() / scale) < 1e-3, f'{name}: grad of {pname}'

    # (b) a few optimizer steps on CUDA: finite losses, the weights move
    before = {k: v.clone() for k, v in gpu.state_dict().items()}
    optim = build_optim_wrapper(gpu, cfg.optim_wrapper)
    for step in range(STEPS):
        losses = _losses(gpu, train_batch)
        total = _total(losses)
        assert torch.isfinite(total), f'{name}: step {step}: {_flat(losses)}'
        optim.update_params(total)
    moved = [k for k, v in gpu.state_dict().items()
             if v.is_floating_point() and not torch.equal(v, before[k])]
    assert moved, f'{name}: {STEPS} optimizer steps changed no weight'

    # (c) predict, with the trained CUDA weights copied to CPU
    cpu.load_state_dict(gpu.state_dict())
    preds_cpu, preds_gpu = _predictions(cpu, val_batch), _predictions(gpu, val_batch)
    report = []
    for (pc, pg) in zip(preds_cpu, preds_gpu):
        n = min(len(pc[0]), len(pg[0]))
        matched = match_predictions(pg, pc)
        report.append((len(pc[0]), len(pg[0]), matched))
        assert n > 0, f'{name}: no predictions'
        assert abs(len(pc[0]) - len(pg[0])) <= max(1, int((1 - MATCH_MIN) * n)), report
        assert matched >= MATCH_MIN * n, f'{name}: (cpu, cuda, matched) per image: {report}'
    record_property('predictions_cpu_cuda_matched', report)


def _mmdet_tool(name):
    import mmdet
    path = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', name)
    if not osp.isfile(path):
        pytest.fail(f'{path} not found: mmdet is installed without its .mim tools')
    return path


def _run_tool(args, env_extra, log):
    env = dict(os.environ, PYTHONWARNINGS='ignore',
               PYTHONPATH=os.pathsep.join([REPO, os.environ.get('PYTHONPATH', '')]),
               **env_extra)
    proc = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True,
                          timeout=900)
    with open(log, 'w') as f:
        f.write(proc.stdout + proc.stderr)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return proc.stdout + proc.stderr


def _json_records(work_dir):
    """Every record of mmengine's json logs (``<timestamp>.json``) under ``work_dir``."""
    found = []
    for dirpath, _, files in sorted(os.walk(work_dir)):
        for f in sorted(files):
            if f.endswith('.json') and f[:8].isdigit():
                with open(osp.join(dirpath, f)) as fh:
                    found += [json.loads(line) for line in fh if line.strip()]
    return found


def _metrics_json(work_dir):
    """The metrics mmengine wrote for the last validation/test of a run."""
    recall = [m for m in _json_records(work_dir) if any('AR' in k for k in m)]
    assert recall, f'no validation metrics in {work_dir}'
    return recall[-1]


@needs_cuda
def test_train_on_cuda_then_checkpoint_on_cpu(shapes_160, tmp_path, record_property):
    """mmdet's train tool on CUDA (~100 iterations, validation at the end), then the
    CUDA checkpoint evaluated on CPU gives the same recall."""
    from conftest import cfg_options_for

    from owp.engine.checkpoint import load_from_local_safe
    config = osp.join(CONFIGS, 'shapes', 'fcos-owp-iou-cs-is-joint-unknown_r18-tiny_fpn_1k_shapes.py')
    work = tmp_path / 'train'
    opts = cfg_options_for(config, shapes_160) + [
        f'train_cfg.max_iters={E2E_ITERS}', f'train_cfg.val_interval={E2E_ITERS}',
        f'default_hooks.checkpoint.interval={E2E_ITERS}',
        'model.bbox_head.unknown_masking.start_iter=50']
    _run_tool([_mmdet_tool('train.py'), config, '--work-dir', str(work),
               '--cfg-options', *opts], {}, tmp_path / 'train.log')
    gpu_metrics = _metrics_json(work)
    ckpt = work / f'iter_{E2E_ITERS}.pth'
    assert ckpt.is_file()

    # it trained on the GPU: mmengine logs the peak CUDA memory of each window
    memory = [r['memory'] for r in _json_records(work) if 'loss' in r and 'memory' in r]
    assert memory and min(memory) > 0, f'no CUDA memory in the training log of {work}'
    # mmengine moves weights and optimizer state to the CPU when it saves; owp's safe
    # loader reads the file (its pickle allows only mmengine's own objects) onto the CPU
    state = load_from_local_safe(str(ckpt), map_location='cpu')
    tensors = [v for v in state['state_dict'].values() if torch.is_tensor(v)] + [
        v for s in state['optimizer']['state'].values() for v in s.values()
        if torch.is_tensor(v)]
    assert tensors and all(v.device.type == 'cpu' for v in tensors)
    assert all(torch.isfinite(v).all() for v in tensors if v.is_floating_point())

    # the whole test tool on CPU (no CUDA device visible) with that checkpoint
    cpu_work = tmp_path / 'test_cpu'
    _run_tool([_mmdet_tool('test.py'), config, str(ckpt), '--work-dir', str(cpu_work),
               '--cfg-options', *cfg_options_for(config, shapes_160)],
              {'CUDA_VISIBLE_DEVICES': '', 'OMP_NUM_THREADS': '4'}, tmp_path / 'test.log')
    cpu_metrics = _metrics_json(cpu_work)
    keys = sorted(k for k in gpu_metrics if k in cpu_metrics and
                  isinstance(gpu_metrics[k], (int, float)) and 'AR' in k)
    assert keys, (gpu_metrics, cpu_metrics)
    record_property('recall_cuda_cpu', {k: (gpu_metrics[k], cpu_metrics[k]) for k in keys})
    # one ground-truth box more or less found (a tie broken the other way) moves an AR by
    # 1/num_gt of the smallest subset; 0.02 allows that and nothing more
    diffs = {k: (gpu_metrics[k], cpu_metrics[k]) for k in keys
             if abs(gpu_metrics[k] - cpu_metrics[k]) > 0.02}
    assert not diffs, f'recall of the CUDA checkpoint, CUDA vs CPU: {diffs}'
