"""Minimal safetensors reader/writer on numpy (no safetensors package needed).

Format: 8-byte little-endian u64 header length N, N bytes of JSON header
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}},
then the raw little-endian tensor bytes (offsets relative to the end of the header)."""
import json
import struct

import numpy as np

_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}


class SafetensorsError(ValueError):
    pass


def _dtype_name(arr):
    dt = arr.dtype.newbyteorder("<") if arr.dtype.byteorder == ">" else arr.dtype
    for name, d in _DTYPES.items():
        if np.dtype(dt) == d:
            return name
    raise SafetensorsError(f"unsupported dtype {arr.dtype}")


def read(path):
    """Returns (tensors: dict name -> np.ndarray (native byte order, writable), metadata: dict)."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise SafetensorsError(f"{path}: too short")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise SafetensorsError(f"{path}: header length {n} past end of file")
    try:
        header = json.loads(blob[8:8 + n].decode("utf-8"))
    except Exception as e:  # noqa: BLE001
        raise SafetensorsError(f"{path}: bad JSON header: {e}")
    data = memoryview(blob)[8 + n:]
    meta = header.pop("__metadata__", {}) or {}
    out = {}
    for name, info in header.items():
        dt = info.get("dtype")
        if dt not in _DTYPES:
            raise SafetensorsError(f"{path}: tensor {name}: unsupported dtype {dt}")
        shape = [int(s) for s in info["shape"]]
        b, e = (int(v) for v in info["data_offsets"])
        count = int(np.prod(shape)) if shape else 1
        if e - b != count * _DTYPES[dt].itemsize or e > len(data) or b < 0:
            raise SafetensorsError(f"{path}: tensor {name}: bad data_offsets {b},{e} for shape {shape} {dt}")
        arr = np.frombuffer(data[b:e], dtype=_DTYPES[dt]).reshape(shape)
        out[name] = arr.astype(arr.dtype.newbyteorder("="), copy=True)
    return out, meta


def write(path, tensors, metadata=None):
    """tensors: dict name -> array-like (numpy or torch); dtype kept (F32/F64/I64/...)."""
    header, chunks, off = {}, [], 0
    for name in sorted(tensors):
        a = tensors[name]
        if hasattr(a, "detach"):
            a = a.detach().cpu().numpy()
        a = np.array(a, order="C", copy=False)  # (ascontiguousarray would turn shape [] into [1])
        dt = _dtype_name(a)
        raw = a.astype(_DTYPES[dt], copy=False).tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        chunks.append(raw)
        off += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for c in chunks:
            f.write(c)
