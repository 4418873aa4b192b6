#!/usr/bin/env python
"""Objectness maps of one image, per FPN level (paper fig. 7, appendix B).

    python scripts/objectness_maps.py CONFIG CHECKPOINT IMAGE [--out maps.png]
        [--cfg-options KEY=VALUE ...]

Runs the config's test pipeline on IMAGE, reads every objectness branch of the
OWP head (sigmoid) at every FPN level, and writes one PNG: the network input,
then one panel per level, one row per branch, on a shared [0, 1] scale.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def main(argv=None) -> int:
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('image')
    p.add_argument('--out', default='objectness_maps.png', help='PNG to write')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='config overrides KEY=VALUE')
    args = p.parse_args(argv)
    for what, path in (('config', args.config), ('checkpoint', args.checkpoint),
                       ('image', args.image)):
        if not osp.isfile(path):
            p.error(f'{what} {path!r} does not exist')

    from mmdet.apis import init_detector
    from mmengine.config import Config

    import owp.engine  # noqa: F401  (installs the safe checkpoint loader)
    import owp.registration  # noqa: F401  (registers the OWP modules)
    from owp.analysis import objectness_maps, plot_objectness_maps
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    from owp.engine import TRUST_CFG_KEY, trusted_checkpoints
    with trusted_checkpoints(cfg.get(TRUST_CFG_KEY, False)):  # the config's opt-in, if any
        model = init_detector(cfg, args.checkpoint, device='cpu')
    result = objectness_maps(model, args.image, model.cfg)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    plot_objectness_maps(result, args.out, title=osp.basename(args.image))
    print(f'[objectness_maps] wrote {args.out}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
