"""Models: plain ``nn.Module``s whose constructors take sizes, built by Hydra's ``_target_``."""

from aegan.models.autoencoder import DenseAutoencoder

__all__ = ["DenseAutoencoder"]
