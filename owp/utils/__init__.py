from .config_utils import data_root_cfg_options, proposal_test_cfg, set_data_root

__all__ = ['data_root_cfg_options', 'proposal_test_cfg', 'set_data_root']
