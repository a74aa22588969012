"""Losses: pixel MSE, the GAN log loss of eqs. (10)-(12), and where lambda sits.

The paper's eq. (11) writes the generator objective as  adversarial + lambda * MSE;
the authors' public code computes  MSE + lambda * adversarial  (lambda = 0.1 both ways).
`generator_loss(..., lambda_on=...)` implements both: 'adversarial' (the code's, default) or
'mse' (eq. 11 as printed); see docs/protocol.md#training. Baselines with their own published weights (SRGAN 1e-3, URDGN 0.01)
always put the weight on the adversarial term.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

LAMBDA_PLACEMENTS = ("adversarial", "mse")


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(pred.float(), target.float())


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
