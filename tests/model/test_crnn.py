import pytest
import torch

from pwocr.alphabet import PRINTABLE_94
from pwocr.errors import PwocrError
from pwocr.model.crnn import CRNN, MODEL_SIZES, VGG_WIDTHS, ModelConfig


@pytest.mark.parametrize("size", list(MODEL_SIZES))
@pytest.mark.parametrize("width", [32, 33, 100, 223, 400])
def test_output_length_matches_formula(size, width):
    config = ModelConfig(PRINTABLE_94, size)
    model = CRNN(config).eval()
    with torch.inference_mode():
        out = model(torch.zeros(2, 1, config.height, width))
    assert out.shape == (config.output_length(width), 2, 95)
    assert torch.allclose(out.exp().sum(-1), torch.ones(()), atol=1e-4)


def test_paper_model_matches_the_paper():
    model = CRNN(ModelConfig(PRINTABLE_94, "crnn"))
    convs = [m for m in model.cnn if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 256, 512, 512, 512]
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.cnn) == 3
    assert model.rnn.hidden_size == 256 and model.rnn.num_layers == 2 and model.rnn.bidirectional


def test_smaller_sizes_have_fewer_parameters():
    counts = [sum(p.numel() for p in CRNN(ModelConfig(PRINTABLE_94, s)).parameters()) for s in VGG_WIDTHS]
    assert counts == sorted(counts, reverse=True)


def test_config_round_trips_and_rejects_unknown_size():
    config = ModelConfig("abc", "crnn-tiny")
    assert ModelConfig.from_dict(config.to_dict()) == config
    # Checkpoints saved before the architecture field was named ``arch`` still read.
    legacy = {("size" if k == "arch" else k): v for k, v in config.to_dict().items()}
    assert ModelConfig.from_dict(legacy) == config
    with pytest.raises(PwocrError):
        ModelConfig("abc", "resnet")


def test_height_follows_the_conv_stack():
    assert ModelConfig("abc", "crnn").height == 32
    assert ModelConfig("abc", "crnn-lcnet").height == 48
    with pytest.raises(PwocrError, match="48-pixel"):
        ModelConfig("abc", "crnn-lcnet", height=32)
    with pytest.raises(PwocrError, match="width_step"):
        ModelConfig("abc", "crnn", min_width=30)


def test_only_a_crnn_svtr_started_from_ppocrv6_has_ppocrv6s_features():
    """PP-OCRv6's CTC layer reads a photo's words from a crnn-svtr's features (saved configs before the
    field: true for crnn-svtr); a fresh crnn-svtr from scratch, and every other stack, has other features."""
    from pwocr.alphabet import Alphabet
    from pwocr.training.config import TrainConfig
    from pwocr.training.setup import initial_model

    assert ModelConfig("abc", "crnn-svtr").ppocr_features and not ModelConfig("abc", "crnn-lcnet").ppocr_features
    with pytest.raises(PwocrError, match="ppocr_features"):
        ModelConfig("abc", "crnn", ppocr_features=True)
    scratch = TrainConfig(model_size="crnn-svtr", pretrained_backbone="none")
    assert initial_model(scratch, Alphabet("abc")).config.ppocr_features is False
