"""Models: plain ``nn.Module``s whose constructors take sizes, built by Hydra's ``_target_``."""

from aegan.models.autoencoder import DenseAutoencoder
from aegan.models.conv import ConvAutoencoder, ConvEncoder
from aegan.models.dcgan import Discriminator, Generator
from aegan.models.hybrid import (
    CodeDiscriminator,
    InfoDiscriminator,
    JointDiscriminator,
    aae_autoencoder,
)
from aegan.models.vae import ConvVAE, DenseVAE, GaussianEncoderDecoder, reparameterize

__all__ = [
    "CodeDiscriminator",
    "ConvAutoencoder",
    "ConvEncoder",
    "ConvVAE",
    "DenseAutoencoder",
    "DenseVAE",
    "Discriminator",
    "GaussianEncoderDecoder",
    "Generator",
    "InfoDiscriminator",
    "JointDiscriminator",
    "aae_autoencoder",
    "reparameterize",
]
