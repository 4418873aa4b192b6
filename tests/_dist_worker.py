"""One rank of the 2-process checks in test_distributed.py (launched by the test).

    python tests/_dist_worker.py OUT_DIR   (environment of a launcher: Slurm's here)

Computes the head's losses on this rank's images before and after joining the
process group, starts the group the way mmengine's Runner does
(``init_dist(launcher, backend='nccl')``, the runtime config's default), runs
``SyncBuffersIterHook`` on a BatchNorm whose statistics differ per rank, and
writes what it saw to OUT_DIR/rank<R>.json.
"""
import json
import os
import os.path as osp
import sys
from types import SimpleNamespace

import torch
import torch.distributed as torch_dist
from mmengine.config import ConfigDict
from mmengine.dist import get_rank, get_world_size, init_dist
from mmengine.structures import InstanceData

import owp.registration  # noqa: F401  (installs the CPU shim, as every owp config does)
from owp.engine import SyncBuffersIterHook
from owp.models import OWPFCOSHead

STRIDES = (8, 16)
IMG = 64


def head_losses(rank):
    torch.manual_seed(0)  # the same weights on every rank
    head = OWPFCOSHead(num_classes=2, in_channels=1, feat_channels=2, stacked_convs=1,
                       strides=STRIDES, regress_ranges=((-1, 24), (24, 1e8)), norm_cfg=None,
                       centerness_on_reg=True, objectness_branches=('iou', ),
                       test_cfg=ConfigDict(nms_pre=10, score_thr=0., max_per_img=10,
                                           nms=dict(type='nms', iou_threshold=0.6)))
    torch.nn.init.constant_(head.conv_reg.bias, 1.5)
    torch.manual_seed(1 + rank)  # this rank's images
    feats = tuple(torch.randn(1, 1, IMG // s, IMG // s) for s in STRIDES)
    gt = InstanceData()
    # rank 0: one box, rank 1: three (different numbers of positive points)
    boxes = [[4., 6, 30, 28], [20, 16, 60, 62], [40, 2, 62, 20]][:1 + 2 * rank]
    gt.bboxes = torch.tensor(boxes)
    gt.labels = torch.zeros(len(boxes), dtype=torch.long)
    metas = [dict(img_shape=(IMG, IMG), pad_shape=(IMG, IMG), scale_factor=(1., 1.))]
    with torch.no_grad():
        outs = head(feats)
        losses = head.loss_by_feat(*outs, [gt], metas)
        points = head.prior_generator.grid_priors([f.shape[-2:] for f in feats], device='cpu')
        labels, _ = head.get_targets(points, [gt])
    num_pos = int(sum(((lb >= 0) & (lb < head.num_classes)).sum() for lb in labels))
    return {k: float(v) for k, v in losses.items()}, num_pos


def main():
    out_dir = sys.argv[1]
    rank = int(os.environ['SLURM_PROCID'])
    local, num_pos = head_losses(rank)  # no process group yet: reduce_mean is the identity
    init_dist('slurm', backend='nccl')  # what mmengine's Runner calls for --launcher slurm
    ddp, _ = head_losses(rank)
    counts = [None] * get_world_size()
    torch_dist.all_gather_object(counts, num_pos)

    bn = torch.nn.BatchNorm2d(3)
    bn.running_mean.fill_(float(rank + 1))
    bn.num_batches_tracked.fill_(7)
    SyncBuffersIterHook().after_train_iter(SimpleNamespace(model=bn), 0)

    with open(osp.join(out_dir, f'rank{get_rank()}.json'), 'w') as f:
        json.dump(dict(rank=get_rank(), world_size=get_world_size(),
                       backend=torch_dist.get_backend(), local=local, ddp=ddp, num_pos=counts,
                       bn_mean=bn.running_mean.tolist(),
                       bn_tracked=int(bn.num_batches_tracked)), f)
    torch_dist.destroy_process_group()


if __name__ == '__main__':
    main()
