#!/usr/bin/python3
"""The layout of a Keras model file, one fact a line, to compare a file nnc wrote with one Keras
wrote (diff the two outputs). Needs h5py and numpy only.

    keras_layout.py FILE

Prints the zip's members (a .keras), every HDF5 group and dataset with its dtype and shape,
every attribute with its HDF5 type (variable or fixed length, ASCII or UTF-8) and, for the
configs, the keys each object holds, by where it sits (the model, each layer class, the compile
or training config). Values are left out: they differ between any two models."""

import io
import json
import sys
import zipfile

import h5py


def attr_type(obj, name):
    a = obj.attrs.get_id(name)
    t = a.get_type()
    shape = a.shape
    if isinstance(t, h5py.h5t.TypeStringID):
        kind = "vlen" if t.is_variable_str() else "fixed"
        cset = "utf8" if t.get_cset() == h5py.h5t.CSET_UTF8 else "ascii"
        return "string %s %s shape %s" % (kind, cset, shape)
    return "%s shape %s" % (type(t).__name__, shape)


def walk(f, prefix):
    lines = []

    def visit(name, obj):
        kind = "dataset %s %s" % (obj.dtype, obj.shape) if isinstance(obj, h5py.Dataset) else "group"
        lines.append("%s%s: %s" % (prefix, name, kind))
        for a in obj.attrs:
            lines.append("%s%s @%s: %s" % (prefix, name, a, attr_type(obj, a)))

    for a in f.attrs:
        lines.append("%s/ @%s: %s" % (prefix, a, attr_type(f, a)))
    f.visititems(visit)
    return lines


def keys(obj, where, out):
    if isinstance(obj, dict):
        if "class_name" in obj and isinstance(obj.get("config"), dict):
            where = "%s/%s" % (where, obj["class_name"])
        out.add("%s: {%s}" % (where, ", ".join(sorted(obj))))
        for k, v in obj.items():
            if k not in ("layers",):
                keys(v, where + "." + k, out)
        for layer in obj.get("layers", []) if isinstance(obj.get("layers"), list) else []:
            keys(layer, where + ".layers[]", out)
    elif isinstance(obj, list):
        for v in obj:
            keys(v, where + "[]", out)


def config_lines(text, what):
    out = set()
    keys(json.loads(text), what, out)
    return sorted(out)


def main(path):
    with open(path, "rb") as fh:
        zipped = fh.read(4) == b"PK\x03\x04"
    lines = []
    if zipped:
        z = zipfile.ZipFile(path)
        for info in z.infolist():
            lines.append("zip member %s compress_type %d" % (info.filename, info.compress_type))
        lines += ["metadata.json: {%s}" % ", ".join(sorted(json.loads(z.read("metadata.json"))))]
        lines += config_lines(z.read("config.json"), "config.json")
        lines += walk(h5py.File(io.BytesIO(z.read("model.weights.h5")), "r"), "model.weights.h5:")
    else:
        f = h5py.File(path, "r")
        for a in ("model_config", "training_config"):
            if a in f.attrs:
                v = f.attrs[a]
                lines += config_lines(v.decode() if isinstance(v, bytes) else v, a)
        lines += walk(f, "")
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
