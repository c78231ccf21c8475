"""The CRNN model: a pure ``nn.Module`` and the dataclass that configures it."""

from pwocr.model.crnn import CRNN, MODEL_SIZES, ModelConfig

__all__ = ["CRNN", "MODEL_SIZES", "ModelConfig"]
