#!/usr/bin/python3
"""Keras files with recurrent layers, written the way Keras 3.10 writes them, for nnc's reader to
load and tools/keras_reference.py to check (tests/test_keras_rnn.c). Needs numpy and h5py only.

    make_keras_rnn_files.py DIR

Writes DIR/<model>.keras (the zip: config.json, metadata.json, model.weights.h5) and
DIR/<model>.h5 (the legacy HDF5 file) for each model below, with seeded random weights. The
layouts are those the real files in ../shared/keras_models show for LSTM (the cell's variables
under layers/<layer>/cell/vars, and "<model>/<layer>/lstm_cell/<var>" in legacy weight_names)
extended to the other classes by Keras 3's documented get_config keys and its rule that every
object a layer holds saves its variables in a group named after the attribute (a wrapper's
"layer", Bidirectional's "forward_layer" and "backward_layer"). Nothing here comes from
Keras's code; the files are what the formats say."""

import io
import json
import re
import sys
import zipfile

import h5py
import numpy as np

DTYPE = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}


def init(cls, **config):
    return {"module": "keras.initializers", "class_name": cls, "config": config, "registered_name": None}


def snake(name):
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def recurrent(cls, name, units, **kw):
    c = {"name": name, "trainable": True, "dtype": DTYPE, "return_sequences": False, "return_state": False,
         "go_backwards": False, "stateful": False, "unroll": False, "zero_output_for_mask": False, "units": units,
         "activation": "tanh", "use_bias": True, "kernel_initializer": init("GlorotUniform", seed=None),
         "recurrent_initializer": init("Orthogonal", seed=None, gain=1.0), "bias_initializer": init("Zeros"),
         "kernel_regularizer": None, "recurrent_regularizer": None, "bias_regularizer": None,
         "activity_regularizer": None, "kernel_constraint": None, "recurrent_constraint": None,
         "bias_constraint": None, "dropout": 0.0, "recurrent_dropout": 0.0, "seed": None}
    if cls != "SimpleRNN":
        c["recurrent_activation"] = "sigmoid"
    if cls == "LSTM":
        c["unit_forget_bias"] = True
    if cls == "GRU":
        c["reset_after"] = True
    c.update(kw)
    return {"module": "keras.layers", "class_name": cls, "config": c, "registered_name": None}


def dense(name, units, activation="linear"):
    return {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
            "config": {"name": name, "trainable": True, "dtype": DTYPE, "units": units, "activation": activation,
                       "use_bias": True, "kernel_initializer": init("GlorotUniform", seed=None),
                       "bias_initializer": init("Zeros"), "kernel_regularizer": None, "bias_regularizer": None,
                       "kernel_constraint": None, "bias_constraint": None}}


def bidirectional(name, layer, merge_mode="concat"):
    inner = layer["config"]["name"]
    fwd = json.loads(json.dumps(layer))
    fwd["config"]["name"] = "forward_" + inner
    back = json.loads(json.dumps(layer))
    back["config"]["name"] = "backward_" + inner
    back["config"]["go_backwards"] = not layer["config"]["go_backwards"]
    return {"module": "keras.layers", "class_name": "Bidirectional", "registered_name": None,
            "config": {"name": name, "trainable": True, "dtype": DTYPE, "merge_mode": merge_mode, "layer": fwd,
                       "backward_layer": back}}


def time_distributed(name, layer):
    return {"module": "keras.layers", "class_name": "TimeDistributed", "registered_name": None,
            "config": {"name": name, "trainable": True, "dtype": DTYPE, "layer": layer}}


# ---- the models ----------------------------------------------------------------------------

MODELS = {
    "gru_both_forms": ((6, 3), [
        recurrent("GRU", "gru", 5, return_sequences=True),
        recurrent("GRU", "gru_1", 4, reset_after=False, go_backwards=True, activation="relu"),
        dense("dense", 2)]),
    "simple_rnn_time_distributed": ((7, 4), [
        recurrent("SimpleRNN", "simple_rnn", 6, return_sequences=True, go_backwards=True),
        time_distributed("time_distributed", dense("dense", 3, "tanh")),
        recurrent("SimpleRNN", "simple_rnn_1", 3, use_bias=False, activation="softsign", return_sequences=True)]),
    "simple_rnn_flags": ((6, 2), [
        recurrent("SimpleRNN", "simple_rnn", 5, return_sequences=True, go_backwards=True, activation="relu"),
        recurrent("SimpleRNN", "simple_rnn_1", 3, use_bias=False, activation="softsign", return_sequences=True)]),
    "bidirectional_concat_sum": ((5, 3), [
        bidirectional("bidirectional", recurrent("LSTM", "lstm", 4, return_sequences=True)),
        bidirectional("bidirectional_1", recurrent("GRU", "gru", 3), "sum"),
        dense("dense", 1)]),
    "bidirectional_mul_ave": ((5, 2), [
        bidirectional("bidirectional", recurrent("SimpleRNN", "simple_rnn", 3, return_sequences=True), "mul"),
        bidirectional("bidirectional_1", recurrent("LSTM", "lstm", 2, recurrent_activation="hard_sigmoid",
                                                   use_bias=False, go_backwards=True), "ave")]),
    "lstm_backwards_sequences": ((4, 3), [
        recurrent("LSTM", "lstm", 3, return_sequences=True, go_backwards=True, unit_forget_bias=False),
        recurrent("LSTM", "lstm_1", 2, return_sequences=True, activation="relu")]),
}


def cell_vars(layer, n_in, rs):
    """The variables of a recurrent layer's cell: kernel, recurrent_kernel, bias."""
    c = layer["config"]
    u, cls = c["units"], layer["class_name"]
    g = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}[cls]
    out = [("kernel", rs.uniform(-0.6, 0.6, (n_in, g * u))), ("recurrent_kernel", rs.uniform(-0.6, 0.6, (u, g * u)))]
    if c["use_bias"]:
        shape = (2, g * u) if cls == "GRU" and c["reset_after"] else (g * u,)
        out.append(("bias", rs.uniform(-0.5, 0.5, shape)))
    return [(n, v.astype(np.float32)) for n, v in out]


def out_width(layer, n_in):
    cls, c = layer["class_name"], layer["config"]
    if cls == "Bidirectional":
        w = c["layer"]["config"]["units"]
        return 2 * w if c["merge_mode"] == "concat" else w
    if cls == "TimeDistributed":
        return c["layer"]["config"]["units"]
    return c["units"]


def layer_vars(layer, n_in, rs):
    """[(v3 sub-path, legacy scope, [(name, array)])] of one layer."""
    cls, c = layer["class_name"], layer["config"]
    if cls in ("SimpleRNN", "LSTM", "GRU"):
        return [("cell", snake(cls) + "_cell", cell_vars(layer, n_in, rs))]
    if cls == "Bidirectional":
        inner = c["layer"]
        cell = snake(inner["class_name"]) + "_cell"
        return [("forward_layer/cell", c["layer"]["config"]["name"] + "/" + cell, cell_vars(c["layer"], n_in, rs)),
                ("backward_layer/cell", c["backward_layer"]["config"]["name"] + "/" + cell,
                 cell_vars(c["backward_layer"], n_in, rs))]
    if cls == "TimeDistributed":
        u = c["layer"]["config"]["units"]
        return [("layer", c["layer"]["config"]["name"], [("kernel", rs.uniform(-0.6, 0.6, (n_in, u)).astype(np.float32)),
                                                         ("bias", rs.uniform(-0.5, 0.5, (u,)).astype(np.float32))])]
    u = c["units"]
    return [("", "", [("kernel", rs.uniform(-0.6, 0.6, (n_in, u)).astype(np.float32)),
                      ("bias", rs.uniform(-0.5, 0.5, (u,)).astype(np.float32))])]


def model_config(shape, layers):
    inp = {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
           "config": {"batch_shape": [None] + list(shape), "dtype": "float32", "sparse": False, "name": "input_layer"}}
    return {"module": "keras", "class_name": "Sequential", "registered_name": None,
            "config": {"name": "sequential", "trainable": True, "dtype": DTYPE, "layers": [inp] + layers,
                       "build_input_shape": [None] + list(shape)}}


def write(dirname, name, shape, layers, seed):
    rs = np.random.RandomState(seed)
    n_in, parts = shape[-1], []
    for layer in layers:
        parts.append(layer_vars(layer, n_in, rs))
        n_in = out_width(layer, n_in)
    config = model_config(shape, layers)
    # .keras: layers/<class_snake>[_N]/<sub>/vars/<i>, an empty vars group for each object
    buf = io.BytesIO()
    with h5py.File(buf, "w") as h5:
        counts = {}
        for layer, lp in zip(layers, parts):
            s = snake(layer["class_name"])
            k = counts.get(s, 0)
            counts[s] = k + 1
            group = "layers/" + (s if k == 0 else "%s_%d" % (s, k))
            h5.create_group(group + "/vars")
            for sub, _, vs in lp:
                g = h5.require_group(group + "/" + sub + "/vars" if sub else group + "/vars")
                for i, (_, v) in enumerate(vs):
                    g.create_dataset(str(i), data=v)
        h5.create_group("vars")
    with zipfile.ZipFile("%s/%s.keras" % (dirname, name), "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.10.0", "date_saved": "2026-12-05@00:00:00"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", buf.getvalue())
    # legacy .h5: model_weights/<layer>/ with weight_names "<model>/<layer>/<scope>/<var>"
    with h5py.File("%s/%s.h5" % (dirname, name), "w") as h5:
        h5.attrs["keras_version"] = "3.10.0"
        h5.attrs["backend"] = "tensorflow"
        h5.attrs["model_config"] = json.dumps(config).encode("utf-8")
        mw = h5.create_group("model_weights")
        mw.attrs["layer_names"] = [l["config"]["name"].encode("utf-8") for l in layers]
        for layer, lp in zip(layers, parts):
            lname = layer["config"]["name"]
            g = mw.create_group(lname)
            names = []
            for _, scope, vs in lp:
                for vname, v in vs:
                    path = "/".join(p for p in ("sequential", lname, scope, vname) if p)
                    g.create_dataset(path, data=v)
                    names.append(path.encode("utf-8"))
            g.attrs["weight_names"] = names
        mw.create_group("top_level_model_weights").attrs["weight_names"] = []


def main(args):
    if len(args) != 1:
        raise SystemExit(__doc__)
    for i, (name, (shape, layers)) in enumerate(sorted(MODELS.items())):
        write(args[0], name, shape, layers, 100 + i)
        print(name, " ".join(str(d) for d in shape))


if __name__ == "__main__":
    main(sys.argv[1:])
