"""The networks of the models where autoencoders meet GANs.

- ``aae_autoencoder``: the adversarial autoencoder's dense autoencoder, with a deterministic
  or a Gaussian posterior;
- ``CodeDiscriminator``: an MLP on codes (the adversarial autoencoder's, Makhzani et al. 2015);
- ``JointDiscriminator``: D(x, z) on image-code pairs (BiGAN, Donahue et al. 2016; ALI,
  Dumoulin et al. 2016): the article's discriminator convolutions on x, an MLP on z, a joint
  MLP on both;
- ``InfoDiscriminator``: the DCGAN discriminator with InfoGAN's auxiliary head Q (Chen et
  al. 2016) on the same convolutional body.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrizations

from aegan.models.autoencoder import DenseAutoencoder
from aegan.models.dcgan import Discriminator, dcgan_init_
from aegan.models.vae import DenseVAE

POSTERIORS = ("deterministic", "gaussian")


def leaky_mlp(sizes: Sequence[int], *, dropout: float = 0.0) -> list[nn.Module]:
    """Linear + LeakyReLU(0.2) (+ Dropout) for each consecutive pair of ``sizes``."""
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=False):
        layers += [nn.Linear(fan_in, fan_out), nn.LeakyReLU(0.2, inplace=True)]
        if dropout:
            layers.append(nn.Dropout(dropout))
    return layers


def aae_autoencoder(
    *,
    image_shape: Sequence[int] = (1, 28, 28),
    hidden_dims: Sequence[int] = (64,),
    latent_dim: int = 32,
    posterior: str = "deterministic",
) -> nn.Module:
    """The dense autoencoder with a linear code (``posterior=deterministic``: ``encode``
    gives the code), or with a Gaussian q(z|x) (``gaussian``: ``encode`` gives its mean and
    log-variance, the VAE's network), the two encoders of Makhzani et al. (2015, sec. 2)."""
    sizes = dict(image_shape=image_shape, hidden_dims=hidden_dims, latent_dim=latent_dim)
    if posterior == "gaussian":
        return DenseVAE(**sizes)
    if posterior == "deterministic":
        return DenseAutoencoder(**sizes, code_activation=False)
    raise ValueError(
        f"posterior={posterior!r} is not allowed; choose one of: {', '.join(POSTERIORS)}"
    )


class CodeDiscriminator(nn.Module):
    """Code (B, latent_dim) [+ one-hot label (B, num_labels)] -> one logit (B,)."""

    def __init__(
        self, *, latent_dim: int = 32, hidden_dims: Sequence[int] = (256, 256), num_labels: int = 0
    ) -> None:
        super().__init__()
        widths = [latent_dim + num_labels, *hidden_dims]
        self.num_labels = num_labels
        self.net = nn.Sequential(*leaky_mlp(widths), nn.Linear(widths[-1], 1))

    def forward(self, codes: Tensor, labels: Tensor | None = None) -> Tensor:
        if self.num_labels:
            codes = torch.cat(
                [codes, nn.functional.one_hot(labels, self.num_labels).to(codes.dtype)], 1
            )
        return self.net(codes).squeeze(-1)  # (B,) logits


class JointDiscriminator(nn.Module):
    """(x (B, C, H, W), z (B, latent_dim)) -> one logit (B,): which pairs are (x, E(x))."""

    def __init__(
        self,
        *,
        image_shape: Sequence[int] = (1, 28, 28),
        latent_dim: int = 50,
        channels: Sequence[int] = (64, 128),
        kernel_size: int = 5,
        dropout: float = 0.2,
        z_hidden: int = 512,
        joint_hidden: int = 1024,
    ) -> None:
        super().__init__()
        self.image = Discriminator(
            image_shape=image_shape, channels=channels, kernel_size=kernel_size, dropout=dropout,
            out_features=joint_hidden,
        )  # fmt: skip
        self.code = nn.Sequential(*leaky_mlp([latent_dim, z_hidden, z_hidden], dropout=dropout))
        self.joint = nn.Sequential(
            nn.LeakyReLU(0.2), *leaky_mlp([joint_hidden + z_hidden, joint_hidden], dropout=dropout),
            nn.Linear(joint_hidden, 1),
        )  # fmt: skip
        dcgan_init_(self)

    def forward(self, images: Tensor, codes: Tensor) -> Tensor:
        image_features = self.image.apply_head(self.image.features(images))  # (B, joint_hidden)
        return self.joint(torch.cat([image_features, self.code(codes)], 1)).squeeze(-1)


class InfoDiscriminator(Discriminator):
    """The DCGAN discriminator plus Q: from the shared convolutional features, the logits of
    the categorical code (B, categories) and the means of the continuous codes (B, continuous)."""

    def __init__(
        self,
        *,
        image_shape: Sequence[int] = (1, 28, 28),
        channels: Sequence[int] = (64, 128),
        kernel_size: int = 5,
        dropout: float = 0.3,
        categories: int = 10,
        continuous: int = 2,
        q_hidden: int = 128,
        spectral_norm: bool = False,
    ) -> None:
        super().__init__(image_shape=image_shape, channels=channels, kernel_size=kernel_size,
                         dropout=dropout, spectral_norm=spectral_norm)  # fmt: skip
        features = self.feature_shape[0] * self.feature_shape[1] * self.feature_shape[2]
        self.categories, self.continuous = categories, continuous
        self.q = nn.Sequential(
            nn.Flatten(), nn.Linear(features, q_hidden), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(q_hidden, categories + continuous),
        )  # fmt: skip
        dcgan_init_(self.q)
        if spectral_norm:  # Q's layers too, as every layer of D's
            for layer in [m for m in self.q.modules() if isinstance(m, nn.Linear)]:
                parametrizations.spectral_norm(layer)

    def forward_with_q(self, images: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(real/fake logits (B,), categorical logits (B, K), continuous means (B, L))."""
        features = self.features(images)
        q = self.q(features.contiguous())  # (B, K + L)
        logits = self.apply_head(features).squeeze(-1)  # (B,)
        return logits, q[:, : self.categories], q[:, self.categories :]
