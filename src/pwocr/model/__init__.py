"""The CRNN model (``crnn.py``, a pure ``nn.Module``) and the torch-free ``ModelConfig`` that rebuilds it."""

from pwocr.model.config import MODEL_SIZES, ModelConfig

__all__ = ["MODEL_SIZES", "ModelConfig"]
