"""PyTorch reference of the lavit model (Tools/MODEL.md)."""

from .config import VARIANTS, LavitConfig, variant
from .model import LavitModel, LavitOutput

__all__ = ["LavitConfig", "LavitModel", "LavitOutput", "VARIANTS", "variant"]
