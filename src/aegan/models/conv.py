"""Convolutional autoencoders from the article's DCGAN layers: the discriminator's
convolutions down to a code, the generator back up to the image.

    x (B, C, H, W) -> Conv 5x5/2 64 -> LeakyReLU -> Conv 5x5/2 128 -> LeakyReLU -> Linear
      -> code (B, latent_dim)             [a Gaussian encoder: (B, 2 * latent_dim)]
    code -> Linear 7*7*256 -> BN -> ReLU -> ConvT 128 -> ... -> ConvT C -> logits (B, C, H, W)

Sizes follow the image as the DCGAN's do (28, 32, 64 pixels; 1 or 3 channels).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from aegan.models.dcgan import Discriminator, Generator


class ConvEncoder(Discriminator):
    """The discriminator's convolutions ending in a linear map to ``out_features`` numbers
    (no dropout by default): image (B, C, H, W) -> (B, out_features)."""

    def __init__(
        self,
        *,
        out_features: int,
        image_shape: Sequence[int] = (1, 28, 28),
        channels: Sequence[int] = (64, 128),
        kernel_size: int = 5,
        dropout: float = 0.0,
    ) -> None:
        super().__init__(
            image_shape=image_shape, channels=channels, kernel_size=kernel_size, dropout=dropout,
            out_features=out_features,
        )  # fmt: skip

    def forward(self, images: Tensor) -> Tensor:
        return self.apply_head(self.features(images))  # (B, out_features)


def conv_encoder_decoder(
    *, image_shape: Sequence[int], latent_dim: int, code_width: int,
    encoder_channels: Sequence[int], decoder_channels: Sequence[int], kernel_size: int,
) -> tuple[ConvEncoder, Generator]:  # fmt: skip
    """The convolutional autoencoders' networks: the discriminator's convolutions to
    ``code_width`` numbers (the code, or a Gaussian code's mean and log-variance), and the
    generator from ``latent_dim`` back to the image's logits."""
    encoder = ConvEncoder(
        out_features=code_width, image_shape=image_shape, channels=encoder_channels,
        kernel_size=kernel_size,
    )  # fmt: skip
    decoder = Generator(
        latent_dim=latent_dim, image_shape=image_shape, channels=decoder_channels,
        kernel_size=kernel_size, out_activation="none",
    )  # fmt: skip
    return encoder, decoder


class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder with a linear code; ``forward`` returns logits, like
    ``DenseAutoencoder``, so the autoencoder task trains either."""

    def __init__(
        self,
        *,
        image_shape: Sequence[int] = (1, 28, 28),
        latent_dim: int = 32,
        encoder_channels: Sequence[int] = (64, 128),
        decoder_channels: Sequence[int] = (256, 128, 128),
        kernel_size: int = 5,
    ) -> None:
        super().__init__()
        self.image_shape = tuple(int(s) for s in image_shape)
        self.latent_dim = latent_dim
        self.encoder, self.decoder = conv_encoder_decoder(
            image_shape=image_shape, latent_dim=latent_dim, code_width=latent_dim,
            encoder_channels=encoder_channels, decoder_channels=decoder_channels,
            kernel_size=kernel_size,
        )  # fmt: skip

    def encode(self, x: Tensor) -> Tensor:
        """(B, C, H, W) in [0, 1] -> code (B, latent_dim)."""
        return self.encoder(x)

    def decode_logits(self, code: Tensor) -> Tensor:
        """code (B, latent_dim) -> pre-sigmoid image (B, C, H, W)."""
        return self.decoder(code)

    def forward(self, x: Tensor) -> Tensor:
        """Reconstruction logits (B, C, H, W); the loss applies the sigmoid in fp32."""
        return self.decode_logits(self.encode(x))
