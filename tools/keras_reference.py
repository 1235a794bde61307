#!/usr/bin/python3
"""The forward pass of a Keras model file in numpy, as the reference nnc's Keras reader is
checked against (tests/test_keras_files.c). Needs numpy and h5py only: no TensorFlow, no Keras.

    keras_reference.py MODEL IN.f32 OUT.f32 [MODEL IN.f32 OUT.f32 ...]

IN.f32 holds rows of float32 inputs (the model's input shape, flattened), OUT.f32 gets the
outputs in float32. The file is read independently of nnc's C code, from what the formats say:
  - legacy HDF5: the root attribute model_config, weights under model_weights/<layer>/ in the
    order of each group's weight_names attribute;
  - .keras zip: config.json and model.weights.h5, whose layers/<class_snake>[_N]/vars/<i> count
    each class's layers in model order (a zip written on Windows: "layers\\<name>");
  - Sequential configs of Keras 3 and Keras 2 (with or without InputLayer).
Layers: InputLayer, Dense, Conv2D, MaxPooling2D, Flatten, Dropout, Activation and
BatchNormalization (inference); SimpleRNN, LSTM and GRU (both reset_after forms, return_sequences,
go_backwards), Bidirectional (concat, sum, mul, ave) and TimeDistributed around them; for
sequences of tokens Embedding, Masking and GlobalAveragePooling1D / GlobalMaxPooling1D over the
unmasked steps (sequence_layer below), the mask carried through the other layers; all computed in
float64. A None time axis takes NNC_REF_STEPS steps (the environment). Anything else is an error
(a mask reaching a recurrent layer too). The recurrent layers follow the equations Keras documents
(LSTM: Hochreiter & Schmidhuber 1997 with forget gate, gates i, f, c, o in the kernel's columns;
GRU: Cho et al. 2014, gates z, r, h, reset_after=True applying the reset gate after the recurrent
matmul as in cuDNN, h = z * h_prev + (1 - z) * candidate)."""

import os

import io
import json
import re
import sys
import zipfile

import h5py
import numpy as np


def snake(name):
    """Keras's naming.to_snake_case."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def text(v):
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def load(path):
    """The config's layers and each layer's weights (a list of arrays) by layer name."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head == b"PK\x03\x04":
        z = zipfile.ZipFile(path)
        config = json.loads(z.read("config.json"))
        h5 = h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
        layers = layer_list(config)
        weights, counts = {}, {}
        for layer in layers:
            s = snake(layer["class_name"])
            k = counts.get(s, 0)
            counts[s] = k + 1
            name = s if k == 0 else "%s_%d" % (s, k)
            for group in ("layers/" + name, "layers\\" + name):
                if group in h5:
                    weights[layer["config"]["name"]] = nested_vars(h5[group], layer)
        return layers, weights
    h5 = h5py.File(path, "r")
    config = json.loads(text(h5.attrs["model_config"]))
    layers = layer_list(config)
    mw = h5["model_weights"]
    weights = {}
    for layer in layers:
        name = layer["config"]["name"]
        if name in mw:
            g = mw[name]
            weights[name] = [np.array(g[text(w)]) for w in g.attrs["weight_names"]]
    return layers, weights


def own_vars(g):
    if "vars" not in g:
        return []
    v = g["vars"]
    return [np.array(v[str(i)]) for i in range(len(v))]


def nested_vars(g, layer):
    """A layer's variables in a Keras 3 weights file: its own, then those of the objects it holds
    as attributes (a recurrent layer's "cell", a wrapper's "layer", Bidirectional's
    "forward_layer" then "backward_layer"), each a group of its own."""
    cls = layer["class_name"]
    if cls in ("SimpleRNN", "LSTM", "GRU"):
        return own_vars(g) + own_vars(g["cell"]) if "cell" in g else own_vars(g)
    if cls == "Bidirectional":
        c = layer["config"]
        back = c.get("backward_layer") or c["layer"]
        return nested_vars(g["forward_layer"], c["layer"]) + nested_vars(g["backward_layer"], back)
    if cls == "TimeDistributed":
        return nested_vars(g["layer"], layer["config"]["layer"])
    return own_vars(g)


def layer_list(config):
    if isinstance(config, list):
        return config
    c = config["config"]
    if config["class_name"] != "Sequential":
        raise SystemExit("keras_reference.py: only Sequential models")
    return c if isinstance(c, list) else c["layers"]


def activation(x, name):
    if name == "linear":
        return x
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    if name == "softsign":
        return x / (1.0 + np.abs(x))
    if name == "softplus":
        return np.logaddexp(0.0, x)
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise SystemExit("keras_reference.py: activation %s" % name)


def same_pads(n, k, s):
    """TensorFlow's 'same': ceil(n / s) outputs, the odd padding cell at the end."""
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2


def conv2d(x, c, w):
    kernel, bias = w[0].astype(np.float64), (w[1].astype(np.float64) if len(w) > 1 else None)
    kh, kw, _, f = kernel.shape
    sh, sw = c.get("strides", [1, 1])
    dh, dw = c.get("dilation_rate", [1, 1])
    n, h, wd, ch = x.shape
    ekh, ekw = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if c.get("padding", "valid") == "same":
        oh, pt = same_pads(h, ekh, sh)
        ow, pl = same_pads(wd, ekw, sw)
    else:
        oh, ow, pt, pl = (h - ekh) // sh + 1, (wd - ekw) // sw + 1, 0, 0
    padded = np.zeros((n, (oh - 1) * sh + ekh, (ow - 1) * sw + ekw, ch))
    hh, ww = min(h, padded.shape[1] - pt), min(wd, padded.shape[2] - pl)
    padded[:, pt:pt + hh, pl:pl + ww, :] = x[:, :hh, :ww, :]
    y = np.zeros((n, oh, ow, f))
    for i in range(kh):
        for j in range(kw):
            patch = padded[:, i * dh:i * dh + (oh - 1) * sh + 1:sh, j * dw:j * dw + (ow - 1) * sw + 1:sw, :]
            y += patch @ kernel[i, j]
    if bias is not None:
        y += bias
    return activation(y, c.get("activation", "linear"))


def max_pool(x, c):
    ph, pw = c.get("pool_size", [2, 2])
    sh, sw = c.get("strides") or [ph, pw]
    n, h, w, ch = x.shape
    if c.get("padding", "valid") == "same":
        oh, pt = same_pads(h, ph, sh)
        ow, pl = same_pads(w, pw, sw)
    else:
        oh, ow, pt, pl = (h - ph) // sh + 1, (w - pw) // sw + 1, 0, 0
    padded = np.full((n, (oh - 1) * sh + ph, (ow - 1) * sw + pw, ch), -np.inf)
    hh, ww = min(h, padded.shape[1] - pt), min(w, padded.shape[2] - pl)
    padded[:, pt:pt + hh, pl:pl + ww, :] = x[:, :hh, :ww, :]
    y = np.full((n, oh, ow, ch), -np.inf)
    for i in range(ph):
        for j in range(pw):
            y = np.maximum(y, padded[:, i:i + (oh - 1) * sh + 1:sh, j:j + (ow - 1) * sw + 1:sw, :])
    return y


def batch_norm(x, c, w):
    k = 0
    gamma = beta = None
    if c.get("scale", True):
        gamma, k = w[k].astype(np.float64), k + 1
    if c.get("center", True):
        beta, k = w[k].astype(np.float64), k + 1
    mean, var = w[k].astype(np.float64), w[k + 1].astype(np.float64)
    y = (x - mean) / np.sqrt(var + c.get("epsilon", 1e-3))
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return y


def dense(x, c, w):
    x = x @ w[0].astype(np.float64)
    if len(w) > 1:
        x = x + w[1].astype(np.float64)
    return activation(x, c.get("activation", "linear"))


def recurrent_activation(x, name):
    if name == "hard_sigmoid":  # Keras 3: relu6(x + 3) / 6
        return np.clip(x / 6.0 + 0.5, 0.0, 1.0)
    return activation(x, name)


def recurrent(x, cls, c, w):
    """SimpleRNN, LSTM or GRU over x [batch, time, features]: the last output, or every output
    (return_sequences) in the order the steps ran (reversed for go_backwards, as Keras returns)."""
    kernel, rec = w[0].astype(np.float64), w[1].astype(np.float64)
    u = rec.shape[0]
    use_bias = c.get("use_bias", True)
    bias = w[2].astype(np.float64) if use_bias else None
    act, ract = c.get("activation", "tanh"), c.get("recurrent_activation", "sigmoid")
    if c.get("go_backwards", False):
        x = x[:, ::-1, :]
    n, steps = x.shape[0], x.shape[1]
    h = np.zeros((n, u))
    cell = np.zeros((n, u))
    outs = []
    for t in range(steps):
        xt = x[:, t, :] @ kernel
        if cls == "SimpleRNN":
            h = activation(xt + h @ rec + (bias if use_bias else 0.0), act)
        elif cls == "LSTM":
            z = xt + h @ rec + (bias if use_bias else 0.0)
            i = recurrent_activation(z[:, :u], ract)
            f = recurrent_activation(z[:, u:2 * u], ract)
            cell = f * cell + i * activation(z[:, 2 * u:3 * u], act)
            h = recurrent_activation(z[:, 3 * u:], ract) * activation(cell, act)
        elif c.get("reset_after", True):  # GRU, the reset gate applied after the recurrent matmul
            if use_bias:
                xt, hr = xt + bias[0], h @ rec + bias[1]
            else:
                hr = h @ rec
            z = recurrent_activation(xt[:, :u] + hr[:, :u], ract)
            r = recurrent_activation(xt[:, u:2 * u] + hr[:, u:2 * u], ract)
            cand = activation(xt[:, 2 * u:] + r * hr[:, 2 * u:], act)
            h = z * h + (1.0 - z) * cand
        else:  # GRU, the reset gate applied to the state before its matmul
            if use_bias:
                xt = xt + bias
            z = recurrent_activation(xt[:, :u] + h @ rec[:, :u], ract)
            r = recurrent_activation(xt[:, u:2 * u] + h @ rec[:, u:2 * u], ract)
            cand = activation(xt[:, 2 * u:] + (r * h) @ rec[:, 2 * u:], act)
            h = z * h + (1.0 - z) * cand
        outs.append(h)
    if c.get("return_sequences", False):
        return np.stack(outs, axis=1)
    return h


def bidirectional(x, c, w):
    """Both directions; the backward one's sequence flipped back to the input's order."""
    fwd = c["layer"]
    back = c.get("backward_layer")
    if back is None:
        back = {"class_name": fwd["class_name"], "config": dict(fwd["config"], go_backwards=not fwd["config"].get("go_backwards", False))}
    k = len(w) // 2
    a = recurrent(x, fwd["class_name"], fwd["config"], w[:k])
    b = recurrent(x, back["class_name"], back["config"], w[k:])
    if back["config"].get("return_sequences", False):
        b = b[:, ::-1, :]
    mode = c.get("merge_mode", "concat")
    if mode == "concat":
        return np.concatenate([a, b], axis=-1)
    if mode == "sum":
        return a + b
    if mode == "mul":
        return a * b
    if mode == "ave":
        return (a + b) / 2.0
    raise SystemExit("keras_reference.py: Bidirectional merge_mode %s" % mode)


def input_shape(first):
    """The InputLayer's shape after the batch axis; a None time axis is NNC_REF_STEPS long."""
    shape = first.get("batch_shape") or first.get("batch_input_shape")
    return tuple(int(os.environ["NNC_REF_STEPS"]) if d is None else d for d in shape[1:])


def sequence_layer(cls, c, w, x, mask):
    """Keras's Embedding, Masking and masked 1-D global poolings: (output, its mask), or None
    when cls is none of them. Masks are 1.0 (use the step) or 0.0 (padding), as in Keras's
    Embedding.compute_mask (ids != 0), Masking (any feature != mask_value, output x * mask) and
    GlobalAveragePooling1D (sum of x * mask over the steps / sum of mask). A sequence with no
    used step pools to 0, as nnc defines it (Keras divides 0 by 0)."""
    if cls == "Embedding":
        ids = x.astype(np.int64)
        out = w[0].astype(np.float64)[ids]
        return out, ((ids != 0).astype(np.float64) if c.get("mask_zero") else None)
    if cls == "Masking":
        m = np.any(x != c.get("mask_value", 0.0), axis=-1).astype(np.float64)
        return x * m[..., None], m
    if cls not in ("GlobalAveragePooling1D", "GlobalMaxPooling1D"):
        return None
    m = np.ones(x.shape[:2]) if mask is None else mask
    used = m.sum(axis=1)[:, None]
    if cls == "GlobalAveragePooling1D":
        y = (x * m[..., None]).sum(axis=1) / np.maximum(used, 1.0)
    else:
        y = np.where(m[..., None] > 0, x, -np.inf).max(axis=1)
        y = np.where(used > 0, y, 0.0)
    return (y[:, None, :] if c.get("keepdims") else y), None


def forward(layers, weights, x):
    x = x.reshape((x.shape[0],) + input_shape(layers[0]["config"])).astype(np.float64)
    mask = None
    for layer in layers:
        cls, c = layer["class_name"], layer["config"]
        w = weights.get(c["name"], [])
        seq = sequence_layer(cls, c, w, x, mask)
        if seq is not None:
            x, mask = seq
            continue
        if cls in ("InputLayer", "Dropout"):
            continue
        if cls == "Dense":
            x = dense(x, c, w)
        elif cls == "Conv2D":
            x = conv2d(x, c, w)
        elif cls == "MaxPooling2D":
            x = max_pool(x, c)
        elif cls == "Flatten":
            x = x.reshape(x.shape[0], -1)
        elif cls == "Activation":
            x = activation(x, c["activation"])
        elif cls == "BatchNormalization":
            x = batch_norm(x, c, w)
        elif mask is not None and cls in ("SimpleRNN", "LSTM", "GRU", "Bidirectional"):
            raise SystemExit("keras_reference.py: a masked sequence into %s" % cls)
        elif cls in ("SimpleRNN", "LSTM", "GRU"):
            x = recurrent(x, cls, c, w)
        elif cls == "Bidirectional":
            x = bidirectional(x, c, w)
        elif cls == "TimeDistributed" and c["layer"]["class_name"] == "Dense":
            x = dense(x, c["layer"]["config"], w)  # Dense acts on the last axis: each step alike
        else:
            raise SystemExit("keras_reference.py: layer class %s" % cls)
    return x.reshape(x.shape[0], -1)


def main(args):
    if len(args) == 0 or len(args) % 3:
        raise SystemExit(__doc__)
    for i in range(0, len(args), 3):
        layers, weights = load(args[i])
        x = np.fromfile(args[i + 1], dtype=np.float32)
        x = x.reshape(-1, int(np.prod(input_shape(layers[0]["config"]))))
        forward(layers, weights, x).astype(np.float32).tofile(args[i + 2])


if __name__ == "__main__":
    main(sys.argv[1:])
