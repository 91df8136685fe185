"""aegan: the dense autoencoder and DCGAN of a tutorial article, as PyTorch research software."""

__version__ = "0.1.0"
