"""numpy's side of the `tfrec unpack` tests (tests/interop_unpack.rs).

Commands:
  save DIR        np.save arrays of every dtype numpy saves without pickle,
                  C order, as DIR/single/NNN.npy; and sets of rows of one
                  dtype and shape as DIR/stack-K/row-NNN.npy, each set with
                  DIR/stack-K.npy = np.save(np.stack(rows)).
  load FILE...    np.load each file (without allow_pickle) and print one
                  JSON line: file, descr, name, shape, base64 of the bytes
                  ("data"), and for byte strings each element as numpy gives
                  it back ("strings", base64).
"""

import base64
import json
import os
import sys

import numpy as np

NUMERIC = [
    "float16", "float32", "float64",
    "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64",
    "bool", "complex64", "complex128",
]
SHAPES = [(), (0,), (3, 0, 2), (5,), (2, 3), (2, 1, 3, 1, 2)]


def random_array(rng, dtype, shape):
    count = int(np.prod(shape, dtype=np.int64))
    if dtype == "bool":
        return (rng.integers(0, 2, size=count) == 1).reshape(shape)
    item = np.dtype(dtype).itemsize
    # Random bits: NaN payloads, infinities and subnormals included.
    return np.frombuffer(rng.bytes(count * item), dtype="<" + np.dtype(dtype).str[1:]).reshape(shape)


def random_strings(rng, shape):
    count = int(np.prod(shape, dtype=np.int64))
    values = []
    for _ in range(count):
        value = rng.bytes(int(rng.integers(0, 12))).rstrip(b"\0")
        values.append(value)
    # numpy picks the width of the longest element, as unpack does.
    return np.array(values, dtype=bytes).reshape(shape) if count else np.zeros(shape, "S1")


def save(out):
    rng = np.random.default_rng(20261205)
    single = os.path.join(out, "single")
    os.makedirs(single)
    arrays = []
    for dtype in NUMERIC:
        for shape in SHAPES:
            arrays.append(random_array(rng, dtype, shape))
    for shape in SHAPES:
        arrays.append(random_strings(rng, shape))
    arrays.append(np.array([b"cat", b"", b"a\0b", b"\0lead", bytes(range(1, 256))]))
    arrays.append(np.array(b"scalar"))
    for i, array in enumerate(arrays):
        assert array.flags.c_contiguous
        np.save(os.path.join(single, f"{i:03}.npy"), array)

    sets = [
        [random_array(rng, "float32", (2, 3)) for _ in range(4)],
        [random_array(rng, "int64", ()) for _ in range(5)],
        [random_array(rng, "bool", (0,)) for _ in range(3)],
        [random_array(rng, "complex128", (1, 2)) for _ in range(2)],
        [random_array(rng, "uint16", (2, 2, 2)) for _ in range(1)],
        # Rows of different widths: the stack takes the widest.
        [np.array([b"a", b"bb"]), np.array([b"", b"longest"]), np.array([b"c", b""])],
    ]
    for k, rows in enumerate(sets):
        folder = os.path.join(out, f"stack-{k}")
        os.makedirs(folder)
        for i, row in enumerate(rows):
            np.save(os.path.join(folder, f"row-{i:03}.npy"), row)
        np.save(os.path.join(out, f"stack-{k}.npy"), np.stack(rows))


def load(files):
    for path in files:
        array = np.load(path, allow_pickle=False)
        line = {
            "file": os.path.basename(path),
            "descr": array.dtype.str,
            "name": array.dtype.name,
            "shape": list(array.shape),
            "data": base64.b64encode(array.tobytes()).decode(),
        }
        if array.dtype.kind == "S":
            line["strings"] = [base64.b64encode(bytes(s)).decode() for s in array.ravel().tolist()]
        print(json.dumps(line))


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "save":
        save(args[0])
    elif command == "load":
        load(args)
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
