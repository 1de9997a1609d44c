"""NumPy and Python values to Arrow and back, without pyarrow importing pandas.

pyarrow imports pandas (0.2-0.3 s) the first time it converts a NumPy array or a Python
value: `pa.array`, `pa.scalar`, `Array.to_numpy`, and any compute function handed a plain
`""`, `False` or `19`, all ask pandas whether the value is one of its own. ingest, filter
and train need no pandas, and on the sample that import was most of ingest's and filter's
work (0.30 -> 0.1 s, 0.21 -> 0.04 s): they convert through buffers here, and
tests/test_startup.py keeps pandas out of them.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_INTS = {pa.int32(): np.int32, pa.int64(): np.int64}


def bools(values) -> pa.BooleanArray:
    """A NumPy bool array (or what np.asarray makes one of) as an Arrow boolean array."""
    values = np.asarray(values, np.bool_)
    return pa.Array.from_buffers(pa.bool_(), len(values), [None, _bitmap(values)])


def ints(values, type: pa.DataType = pa.int64(), valid=None) -> pa.Array:
    """NumPy integers as an Arrow array of `type` (int32 or int64), null where `valid` is False."""
    values = np.ascontiguousarray(values, _INTS[type])
    bitmap = None if valid is None else _bitmap(np.asarray(valid, np.bool_))
    return pa.Array.from_buffers(type, len(values), [bitmap, pa.py_buffer(values)])


def strings(values: list[str | None]) -> pa.StringArray:
    """Python strings (None: null) as an Arrow string array (for a few values: a loop)."""
    data = [b"" if v is None else v.encode() for v in values]
    offsets = np.zeros(len(data) + 1, np.int32)
    np.cumsum([len(b) for b in data], out=offsets[1:])
    valid = None if None not in values else _bitmap(np.array([v is not None for v in values]))
    return pa.Array.from_buffers(pa.string(), len(data),
                                 [valid, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))])


def table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """Python rows (dicts) as a table of string and boolean columns (pa.Table.from_pylist
    asks pandas about them)."""
    columns = [bools([bool(r[f.name]) for r in rows]) if f.type == pa.bool_()
               else strings([r[f.name] for r in rows]) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def scalar(value: str | bool | int | None, type: pa.DataType) -> pa.Scalar:
    """An Arrow scalar: a compute function's argument that pandas is never asked about."""
    if value is None:
        return pa.nulls(1, type)[0]
    if pa.types.is_string(type) or pa.types.is_large_string(type):
        return strings([value]).cast(type)[0]
    return (bools([value]) if type == pa.bool_() else ints([value], type))[0]


def to_numpy(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An integer or boolean Arrow array without nulls as NumPy (integers: zero-copy)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.null_count:
        raise ValueError(f"{array.type} array with {array.null_count} null(s)")
    n, at, buffer = len(array), array.offset, array.buffers()[1]
    if pa.types.is_boolean(array.type):
        if buffer is None:
            return np.zeros(n, np.bool_)
        bits = np.unpackbits(np.frombuffer(buffer, np.uint8), count=at + n, bitorder="little")
        return bits[at:].view(np.bool_)
    dtype = np.dtype(array.type.to_pandas_dtype())  # a NumPy dtype; no pandas import
    if buffer is None:  # an empty array
        return np.zeros(n, dtype)
    return np.frombuffer(buffer, dtype)[at:at + n]


def _bitmap(values: np.ndarray) -> pa.Buffer:
    return pa.py_buffer(np.packbits(values, bitorder="little"))


FALSE = scalar(False, pa.bool_())  # fill_null's value for flags: absent means false
