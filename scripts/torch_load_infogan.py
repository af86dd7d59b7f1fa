"""Loads an apps/infogan checkpoint into the lab spec's PyTorch networks.

    /usr/bin/python3 scripts/torch_load_infogan.py runs/latest/checkpoints/latest.safetensors

Selects the "G." and "D." tensors, strips the prefixes and loads them with
strict=True into the spec's Generator and Discriminator (written out below
from docs/lab.md, "The networks"). Any missing, extra or misshapen tensor
makes PyTorch raise. PyTorch is a reference here, never a dependency of the
project.
"""
import json
import struct
import sys

import numpy as np
import torch
import torch.nn as nn


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    dtypes = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "U8": np.uint8}
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[base + begin:base + end], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors, meta


class Generator(nn.Module):
    def __init__(self, input_dim):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(input_dim, 512, 1, 1, bias=False), nn.BatchNorm2d(512), nn.LeakyReLU(0.01),
            nn.ConvTranspose2d(512, 256, 4, 1, bias=False), nn.BatchNorm2d(256), nn.LeakyReLU(0.01),
            nn.ConvTranspose2d(256, 128, 5, 2, 2, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.01),
            nn.ConvTranspose2d(128, 64, 2, 2, bias=False), nn.BatchNorm2d(64), nn.LeakyReLU(0.01),
            nn.ConvTranspose2d(64, 1, 2, 2, bias=False), nn.Sigmoid())

    def forward(self, x):
        return self.main(x)


class Discriminator(nn.Module):
    def __init__(self, q_outputs):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(1, 64, 4, 2, 1, bias=False), nn.LeakyReLU(0.1),
            nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.1),
            nn.Conv2d(128, 256, 7, 1, bias=False), nn.BatchNorm2d(256), nn.LeakyReLU(0.1))
        self.D = nn.Sequential(nn.Conv2d(256, 1, 1), nn.Sigmoid())
        self.Q = nn.Sequential(nn.Conv2d(256, 128, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.1),
                               nn.Conv2d(128, q_outputs, 1))

    def forward(self, x):
        return self.D(self.main(x)).flatten()


def main():
    tensors, meta = read_safetensors(sys.argv[1])
    cont = json.loads(meta["config"])["cont"] if "config" in meta else 0
    noise = json.loads(meta["config"])["noise"] if "config" in meta else 54
    G, D = Generator(noise + 10 + cont), Discriminator(10 + 2 * cont)
    for model, prefix in ((G, "G."), (D, "D.")):
        state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        model.load_state_dict(state, strict=True)
        model.eval()
    print("loaded G (%d tensors) and D (%d tensors) with strict=True" % (len(G.state_dict()), len(D.state_dict())))


if __name__ == "__main__":
    main()
