#!/usr/bin/env python3
"""Writes tests/fixtures/attention_causal.txt and attention_masked.txt: Keras 3's
MultiHeadAttention computed with explicit torch math in float64 from the weights in Keras's
layout, for tests/test_attention_fixtures.c.

Usage: /usr/bin/python3 tools/make_attention_fixtures.py tests/fixtures

The model: x [N, T, F] -> MultiHeadAttention(num_heads=2, key_dim=3, value_dim=2,
output_shape=4)(x, x) -> Flatten -> Dense(3), sparse categorical cross-entropy from logits,
then 5 full-batch Adam steps (lr 0.01, Keras's update). "causal" uses use_causal_mask=True;
"masked" gives x a sequence mask (Keras's _keras_mask), which is both the query and the value
mask. The formulas are Keras's (keras/src/layers/attention/multi_head_attention.py): the
projections are einsums with kernels [F, heads, dim] and biases [heads, dim]; the scores
(Q/sqrt(key_dim))·Kᵀ; the attention mask query_mask[t] & value_mask[s] (& s <= t when
causal); the masked softmax adds (1 - mask)·(-1e9), then multiplies by the mask; the output
projection's kernel is [heads, value_dim, out]. Inputs are rounded to float32 first.
"""

import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import f32, T, write_file  # noqa: E402

torch.set_default_dtype(torch.float64)
N, STEPS, F, H, KD, VD, OUT, K = 4, 5, 3, 2, 3, 2, 4, 3
STEPS_ADAM, LR, B1, B2, EPS = 5, 0.01, 0.9, 0.999, 1e-7
MHA = "multi_head_attention"


def make_params(rng):
    def u(shape, lim):
        return f32(rng.uniform(-lim, lim, size=shape))
    return [
        (MHA + ".query/kernel", u((F, H, KD), 0.8)), (MHA + ".query/bias", u((H, KD), 0.2)),
        (MHA + ".key/kernel", u((F, H, KD), 0.8)), (MHA + ".key/bias", u((H, KD), 0.2)),
        (MHA + ".value/kernel", u((F, H, VD), 0.8)), (MHA + ".value/bias", u((H, VD), 0.2)),
        (MHA + ".attention_output/kernel", u((H, VD, OUT), 0.8)),
        (MHA + ".attention_output/bias", u((OUT,), 0.2)),
        ("dense.kernel", u((STEPS * OUT, K), 0.5)), ("dense.bias", u((K,), 0.1)),
    ]


def forward(p, x, mask, causal):
    wq, bq, wk, bk, wv, bv, wo, bo, wd, bd = p
    q = torch.einsum("btf,fhk->bthk", x, wq) + bq
    k = torch.einsum("btf,fhk->bthk", x, wk) + bk
    v = torch.einsum("btf,fhv->bthv", x, wv) + bv
    scores = torch.einsum("bthk,bshk->bhts", q / math.sqrt(KD), k)
    allowed = torch.ones(N, 1, STEPS, STEPS)
    if mask is not None:
        allowed = allowed * mask[:, None, :, None] * mask[:, None, None, :]
    if causal:
        allowed = allowed * torch.tril(torch.ones(STEPS, STEPS))
    scores = scores + (1.0 - allowed) * -1e9
    probs = torch.softmax(scores, dim=-1) * allowed
    o = torch.einsum("bhts,bshv->bthv", probs, v)
    y = torch.einsum("bthv,hvo->bto", o, wo) + bo
    return y.reshape(N, -1) @ wd + bd


def loss_of(z, y):
    return torch.nn.functional.cross_entropy(z, y.long())


def case(rng, tag, causal, masked):
    params = make_params(rng)
    x = f32(rng.uniform(-1, 1, size=(N, STEPS, F)))
    y = np.array([0, 2, 1, 2], dtype=np.float64)
    mask = np.array([[1, 1, 1, 0, 1], [1, 0, 1, 1, 1], [1, 1, 0, 0, 1], [0, 1, 1, 1, 0]], dtype=np.float64)
    xt, yt, mt = T(x), T(y), T(mask) if masked else None
    w = [T(a).requires_grad_(True) for _, a in params]
    z = forward(w, xt, mt, causal)
    loss = loss_of(z, yt)
    grads = torch.autograd.grad(loss, w)
    tensors = [("x", x)] + ([("mask", mask)] if masked else []) + [("y", y), ("out", z), ("loss", loss)]
    tensors += [(n, a) for n, a in params] + [("d" + n, g) for (n, _), g in zip(params, grads)]
    # Keras's Adam: m, v; w -= lr·sqrt(1 - b2^t)/(1 - b1^t) · m/(sqrt(v) + eps)
    cur = [T(a) for _, a in params]
    m1 = [torch.zeros_like(a) for a in cur]
    m2 = [torch.zeros_like(a) for a in cur]
    losses = []
    for t in range(1, STEPS_ADAM + 1):
        ws = [a.clone().requires_grad_(True) for a in cur]
        lv = loss_of(forward(ws, xt, mt, causal), yt)
        losses.append(lv.item())
        gs = torch.autograd.grad(lv, ws)
        alpha = LR * math.sqrt(1 - B2 ** t) / (1 - B1 ** t)
        for i, g in enumerate(gs):
            m1[i] = B1 * m1[i] + (1 - B1) * g
            m2[i] = B2 * m2[i] + (1 - B2) * g * g
            cur[i] = cur[i] - alpha * m1[i] / (torch.sqrt(m2[i]) + EPS)
    tensors += [("losses", np.array(losses))] + [(n + "_final", a) for (n, _), a in zip(params, cur)]
    header = ["MultiHeadAttention(num_heads=2, key_dim=3, value_dim=2, output_shape=4)(x, x%s)%s -> "
              "Flatten -> Dense(3); sparse CE from logits; 5 Adam steps (lr 0.01)" %
              (", use_causal_mask=True" if causal else "", " with x's mask" if masked else ""),
              "written by tools/make_attention_fixtures.py"]
    return "attention_%s.txt" % tag, header, tensors


def main():
    if len(sys.argv) != 2:
        print("usage: make_attention_fixtures.py OUTDIR", file=sys.stderr)
        sys.exit(2)
    rng = np.random.RandomState(1414)
    for tag, causal, masked in (("causal", True, False), ("masked", False, True)):
        fname, header, tensors = case(rng, tag, causal, masked)
        print(write_file(sys.argv[1], fname, header, tensors))


if __name__ == "__main__":
    main()
