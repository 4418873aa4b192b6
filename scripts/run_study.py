#!/usr/bin/env python
"""Wrapper of ``python -m owp.experiments`` (run / status / table a study).

    python scripts/run_study.py run table1_shapes --seeds 0,1,2
    python scripts/run_study.py status table1_shapes
    python scripts/run_study.py table table1_shapes
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # a checkout without pip

from owp.experiments.cli import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
