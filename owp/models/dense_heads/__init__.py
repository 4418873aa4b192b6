from .oln_rpn_head import OLNRPNHead
from .owp_fcos_head import OBJECTNESS_BRANCHES, ObjectnessBranch, OWPFCOSHead

__all__ = ['OBJECTNESS_BRANCHES', 'OLNRPNHead', 'OWPFCOSHead', 'ObjectnessBranch']
