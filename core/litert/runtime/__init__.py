"""Loading and running models."""
from .loading import read_model
from .session import Session, TensorInfo

__all__ = ["Session", "TensorInfo", "read_model"]
