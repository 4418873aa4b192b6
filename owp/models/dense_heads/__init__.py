from .owp_fcos_head import OBJECTNESS_BRANCHES, ObjectnessBranch, OWPFCOSHead

__all__ = ['OBJECTNESS_BRANCHES', 'OWPFCOSHead', 'ObjectnessBranch']
