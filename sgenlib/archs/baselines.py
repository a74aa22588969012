"""Registry of the baseline architectures SGEN is compared with (paper section 4.4).

Generators map (B, C, H, W) -> (B, C, H, W) in [-1, 1] and take ``(in_channels=1, width=1.0,
**options)``; discriminators take ``(in_channels=1, width=1.0)`` and return logits of shape (B,).
SRGAN uses the "SRResNet" generator with the "SRGAN" discriminator and the VGG content loss
(:func:`sgenlib.archs.vgg.make_content_loss`).
"""
from __future__ import annotations

from .rednet import REDNet
from .srcnn import SRCNN
from .srresnet import SRGANDiscriminator, SRResNet
from .urdgn import URDGNDiscriminator, URDGNGenerator

BASELINE_GENERATORS = {
    "SRCNN": SRCNN,
    "SRResNet": SRResNet,
    "RED-Net": REDNet,
    "URDGN": URDGNGenerator,
}

BASELINE_DISCRIMINATORS = {
    "SRGAN": SRGANDiscriminator,
    "URDGN": URDGNDiscriminator,
}
