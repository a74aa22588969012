"""Losses: pixel MSE, the GAN log loss of eqs. (10)-(12), and where lambda sits.

The paper's eq. (11) writes the generator objective as  adversarial + lambda * MSE;
the authors' public code computes  MSE + lambda * adversarial  (lambda = 0.1 both ways).
`generator_loss(..., lambda_on=...)` implements both: 'adversarial' (the code's, default) or
'mse' (eq. 11 as printed); see docs/protocol.md#training. Baselines with their own published weights (SRGAN 1e-3, URDGN 0.01)
always put the weight on the adversarial term.

`caffe_euclidean` is SRCNN's Caffe training loss; `gan_gating` is URDGN's update gating
(docs/protocol.md#baselines).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

LAMBDA_PLACEMENTS = ("adversarial", "mse")


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(pred.float(), target.float())


def caffe_euclidean(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Caffe's EuclideanLoss on [0, 1] pixels, sum ||y - t||^2 / (2 N) with N the batch, computed on
    [-1, 1] tensors: their difference is twice the [0, 1] one. Equals the kit's pixel-mean MSE on
    [-1, 1] times C * H * W / 8 (a squared difference is 4 times the [0, 1] one; a sum over the
    C * H * W pixels of an image instead of a mean; halved)."""
    diff = (pred.float() - target.float()) / 2
    return diff.pow(2).sum() / (2 * pred.shape[0])


def gan_gating(err_real: float, err_fake: float, margin: float) -> tuple[bool, bool]:
    """URDGN's update gating (its released adverserial_xin_v1_D_revise.lua, margin 0.3): from D's
    binary cross-entropy on the real and on the fake half of the batch, evaluated before D's
    update, returns (update D, update G). D is not updated when either error is below `margin`
    (D already wins); G is not updated when either error is above 1 - `margin` (D is losing); when
    both would be skipped, both are updated."""
    if not 0 < margin < 0.5:
        raise ValueError(f"the gating margin must lie in (0, 0.5), got {margin}")
    update_d = not (err_fake < margin or err_real < margin)
    update_g = not (err_fake > 1 - margin or err_real > 1 - margin)
    if not update_d and not update_g:
        return True, True
    return update_d, update_g


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-log D(t) - log(1 - D(G(s))), eq. (10), with D's sigmoid folded into the loss."""
    real_logits, fake_logits = real_logits.float(), fake_logits.float()
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def adversarial_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The generator's non-saturating form, -log D(G(s)) (Goodfellow et al. 2014)."""
    fake_logits = fake_logits.float()
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def generator_loss(content: torch.Tensor, adversarial: torch.Tensor | None, weight: float,
                   lambda_on: str = "adversarial") -> torch.Tensor:
    if adversarial is None:
        return content
    if lambda_on == "adversarial":
        return content + weight * adversarial
    if lambda_on == "mse":
        return adversarial + weight * content
    raise ValueError(f"lambda_on must be one of {LAMBDA_PLACEMENTS}, got {lambda_on!r}")
