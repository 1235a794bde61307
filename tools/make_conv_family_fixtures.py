#!/usr/bin/env python3
"""Writes tests/fixtures/conv_family.txt: forward passes of the convolution family's layers
(grouped, depthwise, separable and transposed convolutions, causal Conv1D, upsampling,
cropping, 1-D padding and pooling, global pooling) on small random inputs, computed with
torch in float64 and Keras 3's definitions, for tests/test_conv_family.c.

Usage: /usr/bin/python3 tools/make_conv_family_fixtures.py tests/fixtures

Inputs and variables are drawn with a fixed numpy seed and rounded to float32 first, so the
C side starts from the same numbers. Layouts are Keras's (channels last; kernels as Keras 3
stores them); torch works channels first, so each case permutes in and out. Where Keras's
padding differs from torch's symmetric one, the padding comes from Keras's own formulas
(TensorFlow's 'same' for convolutions; for Conv2DTranspose the output size of
keras/src/backend/common/backend_utils.py and the left padding of its JAX conversion, so that
the C code's TensorFlow-style derivation is checked against a second one). Format: as
tools/make_fixtures.py (name ndim d0 .. values, one tensor per line).
"""

import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def f32(a):
    return np.asarray(a, dtype=np.float64).astype(np.float32).astype(np.float64)


def T(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


def fmt(name, a):
    a = np.asarray(a.detach().numpy() if isinstance(a, torch.Tensor) else a, dtype=np.float64)
    assert a.ndim <= 4 and np.all(np.isfinite(a)), name
    return " ".join([name, str(a.ndim)] + [str(d) for d in a.shape] + ["%.9e" % v for v in a.reshape(-1)])


def tf_same_pad(n, k, s, d=1):
    """TensorFlow's 'same' on an axis of n cells: (before, after), the odd cell after."""
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def nhwc(t):
    return t.permute(0, 2, 3, 1)


def nchw(a):
    return T(a).permute(0, 3, 1, 2)


def conv2d(x, kernel, bias, strides=(1, 1), same=False, dilation=(1, 1), groups=1):
    """Keras Conv2D: x [N, H, W, C], kernel [kh, kw, C/groups, F]."""
    xc, w = nchw(x), T(kernel).permute(3, 2, 0, 1)
    if same:
        pt, pb = tf_same_pad(xc.shape[2], kernel.shape[0], strides[0], dilation[0])
        pl, pr = tf_same_pad(xc.shape[3], kernel.shape[1], strides[1], dilation[1])
        xc = F.pad(xc, (pl, pr, pt, pb))
    y = F.conv2d(xc, w, None if bias is None else T(bias), stride=strides, dilation=dilation, groups=groups)
    return nhwc(y)


def depthwise(x, kernel, strides=(1, 1), same=False, dilation=(1, 1)):
    """Keras's depthwise convolution: kernel [kh, kw, C, dm], output channel c*dm + j."""
    kh, kw, c, dm = kernel.shape
    w = T(kernel).reshape(kh, kw, c * dm).permute(2, 0, 1).unsqueeze(1)  # [C*dm, 1, kh, kw]
    xc = nchw(x)
    if same:
        pt, pb = tf_same_pad(xc.shape[2], kh, strides[0], dilation[0])
        pl, pr = tf_same_pad(xc.shape[3], kw, strides[1], dilation[1])
        xc = F.pad(xc, (pl, pr, pt, pb))
    return nhwc(F.conv2d(xc, w, stride=strides, dilation=dilation, groups=c))


def transpose_axis(n, k, s, op, same):
    """Keras's output size and the JAX conversion's left padding: the output starts at cell
    (k - 1 - left) of the full transposed convolution ((n - 1)*s + k cells)."""
    if not same:
        out = (n - 1) * s + k + (max(k, s) - k if op is None else op)
        left = k - 1
    else:
        out = n * s if op is None else (n - 1) * s + k % 2 + op
        pad_len = s + k - 2 if op is None else k + k % 2 - 2 + op
        left = min(pad_len // 2 + pad_len % 2, k - 1)
    return out, k - 1 - left


def conv2d_transpose(x, kernel, bias, strides, same, output_padding=None):
    """Keras Conv2DTranspose: kernel [kh, kw, F, C]; torch's full transposed convolution, then
    Keras's window of it (cells past the full output are zeros)."""
    kh, kw, f, c = kernel.shape
    full = F.conv_transpose2d(nchw(x), T(kernel).permute(3, 2, 0, 1), stride=strides)
    n, _, fh, fw = full.shape
    op = output_padding or (None, None)
    oh, top = transpose_axis(x.shape[1], kh, strides[0], op[0], same)
    ow, left = transpose_axis(x.shape[2], kw, strides[1], op[1], same)
    y = torch.zeros(n, f, oh, ow)
    for i in range(oh):
        for j in range(ow):
            if 0 <= i + top < fh and 0 <= j + left < fw:
                y[:, :, i, j] = full[:, :, i + top, j + left]
    return nhwc(y) + T(bias)


def pool1d(x, k, s, same, kind):
    """Keras's 1-D pooling: windows over the real cells only ('same' excludes the padding)."""
    n, L, c = x.shape
    pl = tf_same_pad(L, k, s)[0] if same else 0
    out = -(-L // s) if same else (L - k) // s + 1
    y = np.zeros((n, out, c))
    for o in range(out):
        cells = [x[:, q, :] for q in range(o * s - pl, o * s - pl + k) if 0 <= q < L]
        y[:, o, :] = np.max(cells, axis=0) if kind == "max" else np.mean(cells, axis=0)
    return y


def main():
    if len(sys.argv) != 2:
        print("usage: make_conv_family_fixtures.py OUTDIR", file=sys.stderr)
        return 2
    rng = np.random.default_rng(20240613)
    r = lambda *shape: f32(rng.uniform(-1.0, 1.0, size=shape))
    out = []

    def case(tag, x, y, **variables):
        out.append((tag + ".x", x))
        for k, v in variables.items():
            out.append((tag + "." + k, v))
        out.append((tag + ".y", y))

    # Conv2D(6, 3, strides 2, 'same', groups 2) on 5x6x4: padding 1/1 rows, 0/1 columns
    x, k, b = r(2, 5, 6, 4), r(3, 3, 2, 6), r(6)
    case("groups", x, conv2d(x, k, b, (2, 2), True, groups=2), kernel=k, bias=b)
    # DepthwiseConv2D((3, 2), depth_multiplier 2, dilation 2, 'same') on 6x5x3
    x, k, b = r(2, 6, 5, 3), r(3, 2, 3, 2), r(6)
    case("depthwise", x, depthwise(x, k, (1, 1), True, (2, 2)) + T(b), kernel=k, bias=b)
    # SeparableConv2D(4, 3, strides 2, 'valid', depth_multiplier 2) on 7x7x3
    x, dk, pk, b = r(2, 7, 7, 3), r(3, 3, 3, 2), r(1, 1, 6, 4), r(4)
    case("separable", x, conv2d(depthwise(x, dk, (2, 2)).numpy(), pk, b), depthwise_kernel=dk,
         pointwise_kernel=pk, bias=b)
    # Conv1D(3, 3, dilation 2, 'causal') on [8, 2], and Conv1D(2, 4, strides 2, 'causal') on [9, 2]:
    # Keras pads (k - 1)*dilation zeros before the sequence, then convolves 'valid'
    for tag, L, f, kk, s, d in (("causal", 8, 3, 3, 1, 2), ("causal_s2", 9, 2, 4, 2, 1)):
        x, k, b = r(2, L, 2), r(kk, 2, f), r(f)
        xp = np.pad(x, ((0, 0), ((kk - 1) * d, 0), (0, 0)))
        y = conv2d(xp[:, None], k[None], b, (1, s), dilation=(1, d))[:, 0]
        case(tag, x, y, kernel=k, bias=b)
    # Conv2DTranspose: valid stride 2; same strides 2 with a (3, 4) kernel; same with
    # output_padding (1, 2) and strides (2, 3); valid kernel 2 strides 3 output_padding (1, 0)
    for tag, hw, f, ks, st, same, op in (("transpose_valid", (3, 4), 3, (3, 3), (2, 2), False, None),
                                         ("transpose_same", (3, 3), 2, (3, 4), (2, 2), True, None),
                                         ("transpose_same_op", (3, 2), 2, (3, 3), (2, 3), True, (1, 2)),
                                         ("transpose_valid_op", (2, 3), 3, (2, 2), (3, 3), False, (1, 0))):
        x, k, b = r(2, hw[0], hw[1], 2), r(ks[0], ks[1], f, 2), r(f)
        case(tag, x, conv2d_transpose(x, k, b, st, same, op), kernel=k, bias=b)
    # UpSampling2D((2, 3)), nearest and bilinear (torch's align_corners=False: half-pixel
    # centers, no antialiasing, as Keras 3's ops.image.resize); UpSampling1D(3)
    x = r(2, 3, 4, 2)
    case("up_nearest", x, nhwc(F.interpolate(nchw(x), size=(6, 12), mode="nearest")))
    case("up_bilinear", x, nhwc(F.interpolate(nchw(x), size=(6, 12), mode="bilinear", align_corners=False)))
    x = r(2, 4, 3)
    case("up1d", x, np.repeat(x, 3, axis=1))
    # MaxPooling1D(3, strides 2, 'same') and AveragePooling1D(3, strides 2, 'same') on [8, 3];
    # AveragePooling1D(2) 'valid' on [7, 3]
    x = r(2, 8, 3)
    case("max1d_same", x, pool1d(x, 3, 2, True, "max"))
    case("avg1d_same", x, pool1d(x, 3, 2, True, "avg"))
    x = r(2, 7, 3)
    case("avg1d_valid", x, pool1d(x, 2, 2, False, "avg"))
    # ZeroPadding1D((1, 2)), Cropping1D((2, 1)) on [5, 3]; Cropping2D(((1, 0), (2, 1))) on 4x5x2
    x = r(2, 5, 3)
    case("pad1d", x, np.pad(x, ((0, 0), (1, 2), (0, 0))))
    case("crop1d", x, x[:, 2:4])
    x = r(2, 4, 5, 2)
    case("crop2d", x, x[:, 1:, 2:4])
    # GlobalAveragePooling1D(keepdims) and GlobalMaxPooling1D on [5, 3]
    x = r(2, 5, 3)
    case("gap1d_keepdims", x, x.mean(axis=1, keepdims=True))
    case("gmp1d", x, x.max(axis=1))

    path = os.path.join(sys.argv[1], "conv_family.txt")
    with open(path, "w") as fh:
        fh.write("# nnc fixture: forward passes of the convolution family's layers (Keras 3 layouts,\n")
        fh.write("# channels last). <case>.x: the input [N, ...]; the layer's variables by Keras's\n")
        fh.write("# names; <case>.y: the output. Generated by tools/make_conv_family_fixtures.py\n")
        fh.write("# (inputs rounded to float32, results computed in float64 with torch).\n")
        for n, a in out:
            fh.write(fmt(n, a) + "\n")
    print("wrote", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
