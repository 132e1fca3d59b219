"""Post-training quantisation (MindSpore Lite's config file; QDQ output) -- see :func:`quantize`."""
from .config import QuantConfig, load_config, parse_config
from .quantize import QuantConfigWarning, QuantReport, quantize, quantize_model

__all__ = ["QuantConfig", "QuantConfigWarning", "QuantReport", "load_config", "parse_config", "quantize",
           "quantize_model"]
