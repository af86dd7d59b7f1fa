#!/usr/bin/python3
"""Writes tests/data/fixture.safetensors with numpy, independently of the C++ code.

The real `safetensors` package is not installed here, so this is a small
writer that follows the format specification
(https://github.com/huggingface/safetensors#format):

  8 bytes   N, little-endian u64
  N bytes   UTF-8 JSON header: {name: {"dtype", "shape", "data_offsets"}, "__metadata__": {str: str}}
            padded with spaces so that 8 + N is a multiple of 8
  rest      the data buffer, each tensor little-endian and row-major at its data_offsets

tests/test_safetensors.cpp reads the file and checks every value, so the two
implementations have to agree on the format. To exercise the reader beyond
what our own writer produces, the header lists the tensors in name order
while the data is laid out in a different order (by element size, largest
first, as the reference writer does), and json.dumps escapes the non-ASCII
metadata as \\uXXXX (a surrogate pair for the emoji).

Run: /usr/bin/python3 tests/data/make_safetensors_fixture.py
"""
import json
import os
import struct

import numpy as np

DTYPES = {np.float32: "F32", np.float64: "F64", np.int64: "I64", np.uint8: "U8", np.bool_: "BOOL"}

TENSORS = {
    # (i - 3.5) / 4: exact in float32.
    "G.main.0.weight": (np.arange(8, dtype=np.float32) - 3.5).reshape(2, 1, 2, 2) / np.float32(4),
    # Rounded 1/3 and the smallest denormal: bytes must survive exactly.
    "G.main.0.bias": np.array([1 / 3, 1e-45], dtype=np.float32),
    "D.main.3.running_mean": np.array([0.1, -2.5, 1e300], dtype=np.float64),
    "D.main.3.num_batches_tracked": np.array(123456789012, dtype=np.int64),  # 0-dim, beyond int32
    "D.main.5.weight": np.zeros((0, 3), dtype=np.float64),  # empty
    "optim.step": np.array(42, dtype=np.int64),  # 0-dim
    "optim.bounds": np.array([-(2**63), -1, 2**63 - 1], dtype=np.int64),
    "data.pixels": np.array([[0, 1, 127], [128, 254, 255]], dtype=np.uint8),
    "data.mask": np.array([True, False, False, True]),
    "data.none": np.zeros((0,), dtype=np.uint8),  # empty
}

METADATA = {"format": "pt", "epoch": "7", "note": 'h\u00e9llo "quoted"\n\U0001F642'}


def main():
    # Data order: larger elements first, then by name (the reference writer's order).
    order = sorted(TENSORS, key=lambda name: (-TENSORS[name].dtype.itemsize, name))
    header, chunks, offset = {}, [], 0
    for name in order:
        array = TENSORS[name]
        data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {
            "dtype": DTYPES[array.dtype.type],
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    ordered = {"__metadata__": METADATA}
    ordered.update({name: header[name] for name in sorted(header)})
    text = json.dumps(ordered, separators=(",", ":")).encode("utf-8")  # ensure_ascii: \u escapes
    text += b" " * ((8 - len(text) % 8) % 8)
    blob = struct.pack("<Q", len(text)) + text + b"".join(chunks)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture.safetensors")
    with open(path, "wb") as f:
        f.write(blob)
    print(f"wrote {path}: {len(blob)} bytes; data order: {', '.join(order)}")


if __name__ == "__main__":
    main()
