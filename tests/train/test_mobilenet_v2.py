"""The MobileNetV2 network reads a Keras HDF5 file (a synthetic one here, in Keras' names and layouts): every
convolution computes what Keras' kernel computes, batch norms carry their statistics, and a missing or different
file is a clear error."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from maskwatch.core.errors import UserError
from maskwatch.train.mobilenet_v2 import MobileNetV2Net, load_keras_weights, read_keras_file
from maskwatch.train.model import build_network

h5py = pytest.importorskip("h5py", reason="h5py comes with the train extra")


def keras_file(path: Path, net: MobileNetV2Net, seed: int = 0) -> Path:
    """A Keras-style HDF5 file for every body layer of `net`, random values in Keras' layouts."""
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as f:
        weights = f.create_group("model_weights")

        def put(layer: str, variable: str, shape: tuple[int, ...]) -> None:
            values = rng.uniform(0.5, 1.5, shape) if "variance" in variable else rng.normal(0, 0.1, shape)
            weights.create_dataset(f"{layer}/{layer}/{variable}:0", data=values.astype(np.float32))

        def conv(layer: str, module: torch.nn.Conv2d, depthwise: bool = False) -> None:
            out, inp, kh, kw = module.weight.shape
            put(
                layer,
                "depthwise_kernel" if depthwise else "kernel",
                (kh, kw, out, 1) if depthwise else (kh, kw, inp, out),
            )

        def bn(layer: str, channels: int) -> None:
            for variable in ("gamma", "beta", "moving_mean", "moving_variance"):
                put(layer, variable, (channels,))

        conv("Conv1", net.stem)
        bn("bn_Conv1", 32)
        for block in net.blocks:
            name = block.keras_name
            if block.expand is not None:
                conv(f"{name}_expand", block.expand[0])
                bn(f"{name}_expand_BN", block.expand[0].out_channels)
            conv(f"{name}_depthwise", block.dw, depthwise=True)
            bn(f"{name}_depthwise_BN", block.dw.out_channels)
            conv(f"{name}_project", block.project[0])
            bn(f"{name}_project_BN", block.project[0].out_channels)
        conv("Conv_1", net.last[0])
        bn("Conv_1_bn", 1280)
    return path


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> tuple[MobileNetV2Net, dict[str, np.ndarray], Path]:
    path = keras_file(tmp_path_factory.mktemp("keras") / "mnv2.h5", MobileNetV2Net(weights=None))
    arrays = read_keras_file(path, sha256=None)
    net = MobileNetV2Net(weights=None)
    load_keras_weights(net, arrays)
    return net.eval(), arrays, path


def test_convolutions_compute_what_the_keras_kernels_do(loaded):
    net, _, path = loaded
    with h5py.File(path) as f:
        raw = {
            k: np.asarray(f[f"model_weights/{k}/{k}/{v}:0"])
            for k, v in [("block_1_expand", "kernel"), ("block_1_depthwise", "depthwise_kernel")]
        }
    x = torch.randn(1, 16, 6, 6)
    # 1x1 kernel (1, 1, in, out): out[o] = sum_i x[i] * k[i, o]
    expected = torch.einsum("nihw,io->nohw", x, torch.from_numpy(raw["block_1_expand"][0, 0]))
    assert torch.allclose(net.blocks[1].expand[0](x), expected, atol=1e-5)
    # depthwise kernel (3, 3, channels, 1): each channel its own 3x3, correlated as Keras does
    y = torch.randn(1, 96, 6, 6)
    kernel = raw["block_1_depthwise"]
    manual = torch.stack(
        [
            F.conv2d(y[:, c : c + 1], torch.from_numpy(kernel[:, :, c, 0].copy())[None, None], padding=1)[:, 0]
            for c in range(96)
        ],
        1,
    )
    assert torch.allclose(F.conv2d(y, net.blocks[1].dw.weight, padding=1, groups=96), manual, atol=1e-5)


def test_batch_norms_carry_their_statistics(loaded):
    net, arrays, _ = loaded
    assert np.array_equal(net.stem_bn.running_var.numpy(), arrays["bn_Conv1/moving_variance"])
    assert np.array_equal(net.last[1].running_mean.numpy(), arrays["Conv_1_bn/moving_mean"])
    assert np.array_equal(net.blocks[16].project[1].weight.detach().numpy(), arrays["block_16_project_BN/gamma"])


def test_the_input_is_turned_into_keras_rgb(loaded):
    """A crop centred by Preprocess (BGR minus the detector's mean) reaches the stem as RGB scaled to [-1, 1]."""
    net, _, _ = loaded
    seen = []
    handle = net.stem.register_forward_hook(lambda _m, inputs, _o: seen.append(inputs[0]))
    bgr = torch.zeros(1, 3, 112, 112)
    bgr[:, 0], bgr[:, 2] = 255.0, 0.0  # pure blue
    net(bgr - net.mean)
    handle.remove()
    rgb = seen[0][:, :, :112, :112]  # without the padding row and column
    assert torch.allclose(rgb[0, 2], torch.ones(112, 112)) and torch.allclose(rgb[0, 0], -torch.ones(112, 112))
    assert seen[0].shape[-2:] == (113, 113)  # padded at the bottom and right, as Keras pads a stride-2 conv


def test_missing_or_other_file_is_a_clear_error(loaded, tmp_path):
    _, _, path = loaded
    with pytest.raises(UserError, match="not found; `make weights` fetches them"):
        read_keras_file(tmp_path / "absent.model")
    with pytest.raises(UserError, match="SHA-256 differs"):
        read_keras_file(path)  # the synthetic file is not the published one
    assert read_keras_file(path, sha256=hashlib.sha256(path.read_bytes()).hexdigest()).keys() == loaded[1].keys()


def test_registry_builds_each_network_and_refuses_others():
    net = build_network("mobilenet-v2", 3, pretrained=False)
    assert net(torch.zeros(2, 3, 112, 112)).shape == (2, 3)
    assert build_network("detector-backbone", 3)(torch.zeros(1, 3, 112, 112)).shape == (1, 3)
    with pytest.raises(UserError, match="unknown network 'resnet'"):
        build_network("resnet", 3)
