from .owp_fcos_head import OWPFCOSHead

__all__ = ['OWPFCOSHead']
