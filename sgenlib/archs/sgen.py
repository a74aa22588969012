"""SGEN: Sequential Gating Ensemble Network (Chen et al., "Sequential Gating Ensemble Network for
Noise Robust Multi-Scale Face Restoration"), and its ablations MEN / AEN / CEN, which differ from
SGEN only in the fusion module (the `fusion` argument).

Generator, eqs. (1)-(8), N levels (N = 3 in the paper):
    x1 = lrelu(conv_2(lrelu(conv(s))))                              (1)
    x_k = lrelu(conv_2(x_{k-1})),                 k = 2..N          (2)
    X1 = lrelu(conv_{2^N}(x1))                                      (3)
    X_k = SGU(lrelu(conv_{2^{N-k+1}}(x_k)), X_{k-1}), k = 2..N      (4)  bottom-up, active = new level
    Y_k = relu(deconv_{2^k}(X_{N-k+1})),          k = 1..N          (5)
    y1 = relu(deconv_2(Y1))                                         (6)
    y_k = relu(deconv_2(SGU(Y_k, y_{k-1}))),      k = 2..N          (7)  top-down, active = base-decoder
    G(s) = tanh(conv(y_N))                                          (8)
Sequential gating unit, eq. (9), xa active, xp passive, two different convolutions:
    f = sigmoid(conv_a(xa)) * xa + sigmoid(conv_b(xa)) * xp
(gate='lrelu' replaces each sigmoid by LeakyReLU(0.2), as the authors' public code does.)

Widths follow the authors' code (docs/protocol.md): ngf = 64, kernel 5, stride-2 convolutions;
for N = 3, x1..x3 have 128 / 256 / 512 channels, every base-encoder X_k reaches 1 / 2^(N+1) of the
input with 8 * ngf = 512 channels, the decoder path y_1..y_3 has 128 / 64 / 32 channels and each
base-decoder Y_k matches the decoder feature it is fused with (Y_1 has twice y_1's channels:
256 / 128 / 64). 32,393,025 parameters at ngf = 64, one input channel (either resampling).

Channel schedule for any N (Table 5 varies N only; the paper and the authors' code fix N = 3):
a feature map at a given resolution has the same width whatever N, and the deepest level always
has the authors' top width 8 * ngf (our reading; both sources are silent for N != 3):
    x_k (1 / 2^k of the input):         ngf * 2^k for k < N, capped at 8 * ngf;  x_N: 8 * ngf
    X_k (1 / 2^(N+1)):                  8 * ngf for every k
    y_k (1 / 2^(N-k)):                  ngf / 2 * 2^(N-k), capped at 8 * ngf  (y_N: ngf / 2)
    Y_1 = min(2 * y_1, 8 * ngf);  Y_k = y_{k-1} for k >= 2
    N = 2: x 128, 512;       X 512;  Y 128, 64;             y 64, 32
    N = 3: x 128, 256, 512;  X 512;  Y 256, 128, 64;        y 128, 64, 32
    N = 4: x 128, 256, 512, 512;  X 512;  Y 512, 256, 128, 64;  y 256, 128, 64, 32
Parameters at ngf = 64, one channel: 17,546,689 / 32,393,025 / 61,232,193 for N = 2 / 3 / 4; forward
GFLOPs at 208x176 (sgenlib.complexity): 32.2 / 24.6 / 28.5 (N = 4 on the padded 224x192). N = 2 costs
more than N = 3 because its 512-channel top level sits at 1/8 of the input, not 1/16.
(Before issue 9 the kit let x_N = ngf * 2^N, so N = 2 had 256-channel base encoders: 6.2 M parameters.)

Resampling operators conv_{2^m} / deconv_{2^m} of eqs. (1)-(8); the paper says only "pooling by a
factor of 2^m". `resample` chooses:
  * "strided" (default; the authors' code, docs/protocol.md): ONE 5x5 convolution with stride 2^m
    (padding 2) and ONE 5x5 transposed convolution with stride 2^m (padding 2, output_padding
    2^m - 1), so the output is exactly input / 2^m and input * 2^m. A stride-8 5x5 conv reads
    only part of its input grid; a stride-8 5x5 transposed conv leaves most outputs bias-only.
  * "pool" (the kit's earlier reading): average pooling by 2^(m-1) then one 5x5 stride-2
    convolution; one 5x5 stride-2 transposed convolution then nearest upsampling by 2^(m-1).
Both have the same parameters and FLOPs; for m = 1 (conv_2 / deconv_2) they are the same layer.

Other choices the paper leaves open, made here and documented:
  * the SGU gate convolutions are 3x3 (`sgu_kernel`).
  * CEN concatenates the two inputs and fuses them with a 1x1 convolution back to C channels.
Every input side must be a multiple of 2^(N+1) (16 for N = 3).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

FUSIONS = ("sgu", "max", "avg", "concat")
GATES = ("sigmoid", "lrelu")
RESAMPLES = ("strided", "pool")


class SGU(nn.Module):
    """Sequential gating unit, eq. (9): gates computed from the active input only."""

    def __init__(self, channels: int, gate: str = "sigmoid", kernel: int = 3):
        super().__init__()
        if gate not in GATES:
            raise ValueError(f"gate must be one of {GATES}, got {gate!r}")
        self.gate_active = nn.Conv2d(channels, channels, kernel, padding=kernel // 2)
        self.gate_passive = nn.Conv2d(channels, channels, kernel, padding=kernel // 2)
        self.act = torch.sigmoid if gate == "sigmoid" else (lambda t: F.leaky_relu(t, 0.2))

    def forward(self, active, passive):
        return self.act(self.gate_active(active)) * active + self.act(self.gate_passive(active)) * passive


class MaxFusion(nn.Module):
    """MEN: element-wise maximum in place of the SGU."""

    def forward(self, active, passive):
        return torch.maximum(active, passive)


class AvgFusion(nn.Module):
    """AEN: element-wise average in place of the SGU."""

    def forward(self, active, passive):
        return 0.5 * (active + passive)


class ConcatFusion(nn.Module):
    """CEN: channel concatenation, then a 1x1 convolution back to C channels."""

    def __init__(self, channels: int):
        super().__init__()
        self.fuse = nn.Conv2d(2 * channels, channels, 1)

    def forward(self, active, passive):
        return self.fuse(torch.cat([active, passive], dim=1))


def make_fusion(kind: str, channels: int, gate: str = "sigmoid", sgu_kernel: int = 3) -> nn.Module:
    if kind == "sgu":
        return SGU(channels, gate, sgu_kernel)
    if kind == "max":
        return MaxFusion()
    if kind == "avg":
        return AvgFusion()
    if kind == "concat":
        return ConcatFusion(channels)
    raise ValueError(f"fusion must be one of {FUSIONS}, got {kind!r}")


def down(cin: int, cout: int, factor: int, kernel: int = 5, resample: str = "strided") -> nn.Sequential:
    """conv_{factor} (no activation): one conv with stride `factor` ('strided'), or average pooling
    by factor/2 then a stride-2 conv ('pool'). Output side = input side / factor."""
    if resample == "strided":
        return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride=factor, padding=kernel // 2))
    layers = [nn.AvgPool2d(factor // 2)] if factor > 2 else []
    return nn.Sequential(*layers, nn.Conv2d(cin, cout, kernel, stride=2, padding=kernel // 2))


def up(cin: int, cout: int, factor: int, kernel: int = 5, resample: str = "strided") -> nn.Sequential:
    """deconv_{factor} (no activation): one transposed conv with stride `factor` and output_padding
    factor - 1 ('strided'), or a stride-2 transposed conv then nearest upsampling by factor/2 ('pool').
    Output side = input side * factor."""
    if resample == "strided":
        return nn.Sequential(nn.ConvTranspose2d(cin, cout, kernel, stride=factor, padding=kernel // 2,
                                                output_padding=factor - 1))
    layers = [nn.ConvTranspose2d(cin, cout, kernel, stride=2, padding=kernel // 2, output_padding=1)]
    if factor > 2:
        layers.append(nn.Upsample(scale_factor=factor // 2, mode="nearest"))
    return nn.Sequential(*layers)


class SGEN(nn.Module):
    """SGEN generator for any N >= 1 (eqs. 1-8); `fusion` selects SGEN ('sgu') or MEN/AEN/CEN."""

    def __init__(self, in_channels: int = 1, n_levels: int = 3, ngf: int = 64, width: float = 1.0,
                 fusion: str = "sgu", gate: str = "sigmoid", kernel: int = 5, sgu_kernel: int = 3,
                 resample: str = "strided"):
        super().__init__()
        if n_levels < 1:
            raise ValueError(f"n_levels (N) must be >= 1, got {n_levels}")
        if resample not in RESAMPLES:
            raise ValueError(f"resample must be one of {RESAMPLES}, got {resample!r}")
        if kernel % 2 == 0:
            raise ValueError(f"kernel must be odd (padding kernel // 2 keeps exact sizes), got {kernel}")
        ngf = max(2, round(ngf * width))
        n, cap = n_levels, 8 * ngf
        self.n_levels, self.size_multiple, self.resample = n, 2 ** (n + 1), resample
        pad = kernel // 2
        x_ch = [min(ngf * 2 ** k, cap) for k in range(1, n)] + [cap]      # x_1..x_N (schedule above)
        top = cap                                                          # base-encoder width
        y_ch = [max(1, ngf * 2 ** (n - k - 1)) if k < n else max(1, ngf // 2) for k in range(1, n + 1)]
        y_ch = [min(c, cap) for c in y_ch]                                 # y_1..y_N
        base_dec_ch = [min(2 * y_ch[0], cap)] + y_ch[:-1]                   # Y_1..Y_N

        self.stem = nn.Conv2d(in_channels, ngf, kernel, padding=pad)
        self.encoders = nn.ModuleList(                                      # conv_2 of eqs. (1)-(2)
            nn.Conv2d(cin, cout, kernel, stride=2, padding=pad) for cin, cout in zip([ngf] + x_ch[:-1], x_ch))
        self.base_encoders = nn.ModuleList(                                 # conv_{2^(N-k+1)}, eqs. (3)-(4)
            down(x_ch[k], top, 2 ** (n - k), kernel, resample) for k in range(n))
        self.encoder_fusions = nn.ModuleList(make_fusion(fusion, top, gate, sgu_kernel) for _ in range(n - 1))
        self.base_decoders = nn.ModuleList(                                 # deconv_{2^k}, eq. (5)
            up(top, base_dec_ch[k], 2 ** (k + 1), kernel, resample) for k in range(n))
        self.decoders = nn.ModuleList(                                      # deconv_2, eqs. (6)-(7)
            up(cin, cout, 2, kernel, resample) for cin, cout in zip(base_dec_ch, y_ch))
        self.decoder_fusions = nn.ModuleList(make_fusion(fusion, c, gate, sgu_kernel) for c in base_dec_ch[1:])
        self.head = nn.Conv2d(y_ch[-1], in_channels, kernel, padding=pad)  # eq. (8)

    def check_input(self, s: torch.Tensor) -> None:
        h, w = s.shape[-2:]
        if h % self.size_multiple or w % self.size_multiple:
            raise ValueError(f"SGEN with N={self.n_levels} needs input sides divisible by 2^(N+1) = "
                             f"{self.size_multiple}; got {h}x{w} (use restore() to pad any image)")

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        self.check_input(s)
        lrelu = lambda t: F.leaky_relu(t, 0.2)  # noqa: E731
        x = lrelu(self.stem(s))
        xs = []
        for enc in self.encoders:                                           # (1), (2)
            x = lrelu(enc(x))
            xs.append(x)
        X = lrelu(self.base_encoders[0](xs[0]))                             # (3)
        Xs = [X]
        for k in range(1, self.n_levels):                                   # (4)
            X = self.encoder_fusions[k - 1](lrelu(self.base_encoders[k](xs[k])), X)
            Xs.append(X)
        Ys = [F.relu(self.base_decoders[k](Xs[self.n_levels - 1 - k])) for k in range(self.n_levels)]  # (5)
        y = F.relu(self.decoders[0](Ys[0]))                                 # (6)
        for k in range(1, self.n_levels):                                   # (7)
            y = F.relu(self.decoders[k](self.decoder_fusions[k - 1](Ys[k], y)))
        return torch.tanh(self.head(y))                                     # (8)
