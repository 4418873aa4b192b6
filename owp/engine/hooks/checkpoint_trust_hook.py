"""The config key ``trust_checkpoints`` for a runner's ``load_from`` and ``resume``."""
import functools

from mmdet.registry import HOOKS
from mmengine.hooks import Hook

from ..checkpoint import TRUST_CFG_KEY, trusted_checkpoints

__all__ = ['CheckpointTrustHook']


@HOOKS.register_module()
class CheckpointTrustHook(Hook):
    """Honours ``trust_checkpoints = True`` in the config (off by default).

    owp loads checkpoints without running code from them
    (:mod:`owp.engine.checkpoint`). A config that sets ``trust_checkpoints =
    True`` declares that the files its runner loads through ``load_from`` or
    ``resume`` are trusted, i.e. may be unpickled with ``weights_only=False``.

    mmengine's runner calls ``before_run`` before ``load_or_resume`` (in
    ``train``, ``val`` and ``test``), so the hook wraps that runner's own
    ``load_checkpoint`` in :func:`~owp.engine.checkpoint.trusted_checkpoints`:
    the trust is scoped to this runner's loads and ends with them, also when
    one fails. Weights loaded by ``init_cfg`` (``Pretrained``) are not covered;
    use the environment variable ``OWP_TRUST_CHECKPOINTS=1`` for those.
    owp's default runtime registers this hook in ``default_hooks``.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        trust = runner.cfg.get(TRUST_CFG_KEY, False)
        if not isinstance(trust, bool):
            raise TypeError(f'config key {TRUST_CFG_KEY!r} must be True or False, '
                            f'got {trust!r}')
        load = runner.load_checkpoint
        if not trust or getattr(load, '_owp_trusted', False):
            return

        @functools.wraps(load)
        def load_checkpoint(*args, **kwargs):
            with trusted_checkpoints():
                return load(*args, **kwargs)

        load_checkpoint._owp_trusted = True
        runner.load_checkpoint = load_checkpoint  # this runner instance only
        runner.logger.warning(f'{TRUST_CFG_KEY}=True: load_from / resume of this run may '
                              'execute code stored in the checkpoint file')
