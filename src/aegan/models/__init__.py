"""Models: plain ``nn.Module``s whose constructors take sizes, built by Hydra's ``_target_``."""

from aegan.models.autoencoder import DenseAutoencoder
from aegan.models.dcgan import Discriminator, Generator

__all__ = ["DenseAutoencoder", "Discriminator", "Generator"]
