#!/usr/bin/env python3
"""Writes tests/fixtures/recurrent.txt: SimpleRNN, LSTM and GRU (both reset_after forms) with
Keras's weight layouts, forward on a small batch and the gradients of a loss, for
tests/test_recurrent.c.

Usage: /usr/bin/python3 tools/make_recurrent_fixtures.py tests/fixtures

The reference runs torch.nn.RNN / LSTM / GRU in float64 with the weights mapped from Keras's
layout: Keras's kernels are [in, G·units] with gate blocks in its order (LSTM i, f, c, o; GRU
z, r, h); torch's weight_ih is [G·units, in] with its own order (LSTM i, f, g, o; GRU r, z, n).
torch's GRU is Keras's reset_after=True (n = tanh(W x + b + r·(U h + b_h))); reset_after=False
(h~ = tanh(W x + b + (r·h)·U)) has no torch module, so it is written out here with torch
tensors. Each case: <case>.x [N, T, F]; kernel, recurrent_kernel, bias in Keras's layout;
<case>.y the output; <case>.loss = Σ y·<case>.w (a fixed weight tensor); the gradients of
that loss for x and the three variables (<case>.dx, .dkernel, .drecurrent_kernel, .dbias).
Inputs are rounded to float32 first.

It also writes tests/fixtures/recurrent_state.txt for tests/test_rnn_state.c (Keras's
initial_state and return_state): each case adds <case>.h0 (and .c0 for LSTM) [N, units], the
final states <case>.hn (.cn), weights .wh (.wc), loss = Σ y·w + Σ hn·wh (+ Σ cn·wc), and the
gradients .dh0 (.dc0); forward cases are checked against torch.nn's modules given (h0, c0).
"""

import os
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(14)


def f32(shape, scale=0.5):
    return rng.uniform(-scale, scale, size=shape).astype(np.float32).astype(np.float64)


def fmt(name, a):
    a = np.asarray(a.detach().numpy() if isinstance(a, torch.Tensor) else a, dtype=np.float64)
    assert a.ndim <= 4 and np.all(np.isfinite(a)), name
    return " ".join([name, str(a.ndim)] + [str(d) for d in a.shape] + ["%.9e" % v for v in a.reshape(-1)])


def blocks(w, order, u):
    """The gate blocks of Keras's [.., G·u] array reordered (order: Keras's block index per torch block)."""
    return np.concatenate([w[..., k * u:(k + 1) * u] for k in order], axis=-1)


def run_torch(kind, x, k, rk, b, u, go_backwards, return_sequences, reset_after=True, h0=None, c0=None):
    xt = torch.tensor(x, requires_grad=True)
    kt, rkt = torch.tensor(k, requires_grad=True), torch.tensor(rk, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    N, T, F = x.shape
    order = {"lstm": [0, 1, 2, 3], "gru": [1, 0, 2], "simple_rnn": [0]}[kind]
    G = len(order)

    def perm(t):  # Keras's gate blocks on the last axis, in torch's order
        return torch.cat([t[..., j * u:(j + 1) * u] for j in order], dim=-1)

    seq = xt.flip(1) if go_backwards else xt
    h = torch.zeros(N, u) if h0 is None else h0
    c = torch.zeros(N, u) if c0 is None else c0
    outs = []
    bin_ = bt[0] if kind == "gru" and reset_after else bt
    brec = bt[1] if kind == "gru" and reset_after else None
    for t in range(T):
        xp = seq[:, t] @ kt + bin_
        if kind == "simple_rnn":
            h = torch.tanh(xp + h @ rkt)
        elif kind == "lstm":
            z = xp + h @ rkt
            i, f, g, o = [z[:, j * u:(j + 1) * u] for j in range(4)]
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        else:
            if reset_after:
                # torch.nn.GRU's formula, Keras's reset_after=True
                hr = h @ rkt + brec
                zg = torch.sigmoid(xp[:, :u] + hr[:, :u])
                rg = torch.sigmoid(xp[:, u:2 * u] + hr[:, u:2 * u])
                hh = torch.tanh(xp[:, 2 * u:] + rg * hr[:, 2 * u:])
            else:
                hr = h @ rkt[:, :2 * u]
                zg = torch.sigmoid(xp[:, :u] + hr[:, :u])
                rg = torch.sigmoid(xp[:, u:2 * u] + hr[:, u:])
                hh = torch.tanh(xp[:, 2 * u:] + (rg * h) @ rkt[:, 2 * u:])
            h = zg * h + (1 - zg) * hh
        outs.append(h)
    y = torch.stack(outs, 1) if return_sequences else h
    run_torch.final = (h, c)
    return xt, kt, rkt, bt, y, perm, G


def torch_module_check(kind, x, k, rk, b, u, y_ref, h0=None, c0=None, hn=None, cn=None):
    """The same forward through torch.nn's own module (forward direction, last output), from
    (h0, c0) when given, its (h_n, c_n) compared too."""
    N, T, F = x.shape
    if kind == "simple_rnn":
        mod, order = torch.nn.RNN(F, u, batch_first=True), [0]
    elif kind == "lstm":
        mod, order = torch.nn.LSTM(F, u, batch_first=True), [0, 1, 2, 3]
    else:
        mod, order = torch.nn.GRU(F, u, batch_first=True), [1, 0, 2]
    with torch.no_grad():
        mod.weight_ih_l0.copy_(torch.tensor(blocks(k, order, u).T))
        mod.weight_hh_l0.copy_(torch.tensor(blocks(rk, order, u).T))
        if kind == "gru":
            mod.bias_ih_l0.copy_(torch.tensor(blocks(b[0], order, u)))
            mod.bias_hh_l0.copy_(torch.tensor(blocks(b[1], order, u)))
        else:
            mod.bias_ih_l0.copy_(torch.tensor(blocks(b, order, u)))
            mod.bias_hh_l0.zero_()
        if h0 is None:
            out, _ = mod(torch.tensor(x))
        else:
            state = (h0[None], c0[None]) if kind == "lstm" else h0[None]
            out, final = mod(torch.tensor(x), state)
            fh = final[0] if kind == "lstm" else final
            assert np.max(np.abs(fh[0].numpy() - hn)) < 1e-12, kind
            if kind == "lstm":
                assert np.max(np.abs(final[1][0].numpy() - cn)) < 1e-12, kind
    assert np.max(np.abs(out[:, -1].numpy() - y_ref)) < 1e-12, kind


CASES = [
    # name, kind, units, go_backwards, return_sequences, reset_after
    ("simple_rnn", "simple_rnn", 3, False, True, True),
    ("lstm", "lstm", 4, False, False, True),
    ("lstm_back_seq", "lstm", 3, True, True, True),
    ("gru", "gru", 4, False, False, True),
    ("gru_back_seq", "gru", 3, True, True, True),
    ("gru_v1", "gru", 3, False, True, False),
]


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
    lines = ["# nnc fixture: recurrent layers with Keras's layouts, forward and gradients of",
             "# loss = sum(y * w). Generated by tools/make_recurrent_fixtures.py (torch, float64)."]
    N, T, F = 3, 5, 4
    for name, kind, u, back, seq, reset_after in CASES:
        G = {"simple_rnn": 1, "lstm": 4, "gru": 3}[kind]
        x = f32((N, T, F), 1.0)
        k, rk = f32((F, G * u)), f32((u, G * u))
        b = f32((2, G * u) if kind == "gru" and reset_after else (G * u,), 0.3)
        xt, kt, rkt, bt, y, _, _ = run_torch(kind, x, k, rk, b, u, back, seq, reset_after)
        if not back and reset_after:
            torch_module_check(kind, x, k, rk, b, u, (y[:, -1] if seq else y).detach().numpy())
        w = f32(tuple(y.shape), 1.0)
        loss = (y * torch.tensor(w)).sum()
        loss.backward()
        for suffix, a in [("x", x), ("kernel", k), ("recurrent_kernel", rk), ("bias", b), ("y", y), ("w", w),
                          ("dx", xt.grad), ("dkernel", kt.grad), ("drecurrent_kernel", rkt.grad), ("dbias", bt.grad)]:
            lines.append(fmt(name + "." + suffix, a))
    with open(os.path.join(out_dir, "recurrent.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


STATE_CASES = [
    # name, kind, units, go_backwards, return_sequences, reset_after
    ("lstm_state", "lstm", 4, False, True, True),
    ("lstm_state_back", "lstm", 3, True, False, True),
    ("gru_state", "gru", 4, False, False, True),
    ("gru_v1_state_back", "gru", 3, True, True, False),
    ("simple_rnn_state", "simple_rnn", 3, False, True, True),
]


def state_main(out_dir):
    global rng
    rng = np.random.default_rng(1414)
    lines = ["# nnc fixture: recurrent layers from initial states with their final states, forward and",
             "# gradients of loss = sum(y * w) + sum(hn * wh) (+ sum(cn * wc)).",
             "# Generated by tools/make_recurrent_fixtures.py (torch, float64)."]
    N, T, F = 3, 5, 4
    for name, kind, u, back, seq, reset_after in STATE_CASES:
        G = {"simple_rnn": 1, "lstm": 4, "gru": 3}[kind]
        x = f32((N, T, F), 1.0)
        k, rk = f32((F, G * u)), f32((u, G * u))
        b = f32((2, G * u) if kind == "gru" and reset_after else (G * u,), 0.3)
        h0 = torch.tensor(f32((N, u), 0.8), requires_grad=True)
        c0 = torch.tensor(f32((N, u), 0.8), requires_grad=True)
        xt, kt, rkt, bt, y, _, _ = run_torch(kind, x, k, rk, b, u, back, seq, reset_after, h0, c0)
        hn, cn = run_torch.final
        if not back and reset_after:
            torch_module_check(kind, x, k, rk, b, u, (y[:, -1] if seq else y).detach().numpy(), h0.detach(),
                               c0.detach(), hn.detach().numpy(), cn.detach().numpy())
        w, wh, wc = f32(tuple(y.shape), 1.0), f32((N, u), 1.0), f32((N, u), 1.0)
        loss = (y * torch.tensor(w)).sum() + (hn * torch.tensor(wh)).sum()
        if kind == "lstm":
            loss = loss + (cn * torch.tensor(wc)).sum()
        loss.backward()
        tensors = [("x", x), ("kernel", k), ("recurrent_kernel", rk), ("bias", b), ("h0", h0), ("y", y), ("hn", hn),
                   ("w", w), ("wh", wh), ("dkernel", kt.grad), ("drecurrent_kernel", rkt.grad), ("dbias", bt.grad),
                   ("dh0", h0.grad)]
        if kind == "lstm":
            tensors += [("c0", c0), ("cn", cn), ("wc", wc), ("dc0", c0.grad)]
        for suffix, a in tensors:
            lines.append(fmt(name + "." + suffix, a))
    with open(os.path.join(out_dir, "recurrent_state.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
    state_main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures")
