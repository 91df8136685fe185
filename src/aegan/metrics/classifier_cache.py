"""The domain classifier, trained once per data set and recipe and cached on disk: a
cached file is rebuilt rather than trusted when it is not the one the recipe trains.
``load_or_train_classifier`` takes images as ``aegan.metrics.classifier`` does."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path

import torch

from aegan.engine.state import check_network_state
from aegan.io.files import atomic_save, given_path
from aegan.io.readback import load_torch_file
from aegan.metrics.arguments import device as checked_device
from aegan.metrics.classifier import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EPOCHS,
    DEFAULT_LR,
    DEFAULT_WIDTHS,
    FEATURE_DIM,
    DomainClassifier,
    as_images,
    train_classifier,
)

log = logging.getLogger(__name__)

# Bump when the architecture or the training loop changes in a way the recipe does not show.
RECIPE_VERSION = 1
DATASET_NAME = re.compile(r"(?!\.\.?$)[A-Za-z0-9_.-]{1,100}")  # in the cache file's name


def _data_fingerprint(images: torch.Tensor, labels: torch.Tensor) -> str:
    """Short hash of the training data, so a different subset never reuses a cached model."""
    digest = hashlib.blake2b(digest_size=8)
    for tensor in (images, labels):
        array = tensor.detach().cpu().contiguous().numpy()
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def classifier_recipe(
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    num_classes: int,
    epochs: int = DEFAULT_EPOCHS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    lr: float = DEFAULT_LR,
    augment: bool = False,
    seed: int = 0,
) -> dict:
    """Everything that determines the trained weights, as a JSON-able dict."""
    images = as_images(images)
    return {
        "version": RECIPE_VERSION,
        "in_channels": int(images.shape[1]),
        "image_size": int(images.shape[-1]),
        "widths": list(DEFAULT_WIDTHS),
        "feature_dim": FEATURE_DIM,
        "num_classes": num_classes,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "augment": augment,
        "seed": seed,
        "num_train": int(images.shape[0]),
        "data": _data_fingerprint(images, labels),
    }


def recipe_hash(recipe: dict) -> str:
    """Stable 10-hex-digit hash of a recipe (sorted-key JSON, SHA-256)."""
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:10]


def load_or_train_classifier(
    dataset_name: str,
    train_images: torch.Tensor,
    train_labels: torch.Tensor,
    *,
    num_classes: int,
    cache_dir: str | Path,
    device: str | torch.device = "cpu",
    epochs: int = DEFAULT_EPOCHS,
    seed: int = 0,
    progress: bool = True,
) -> DomainClassifier:
    """Load the classifier cached at ``cache_dir/classifier-{dataset_name}-{hash}.pt``, or train
    it on ``train_images`` (uint8 (N, C, H, W) or float in [0, 1]) and cache it atomically.

    The checkpoint holds ``{"recipe": dict, "state_dict": ...}``. Returns the model in eval mode.
    """
    if not (isinstance(dataset_name, str) and DATASET_NAME.fullmatch(dataset_name)):
        raise ValueError(  # "../x" wrote the cache file outside cache_dir
            f"dataset_name={dataset_name!r:.80}: load_or_train_classifier takes a data set's "
            "name (letters, digits, '_', '-' or '.'), which its cache file's name holds"
        )
    device = checked_device("device", device)
    cache_dir = given_path("cache_dir", cache_dir, "a folder")  # ~ expanded
    recipe = classifier_recipe(
        train_images, train_labels, num_classes=num_classes, epochs=epochs, seed=seed
    )
    path = cache_dir / f"classifier-{dataset_name}-{recipe_hash(recipe)}.pt"
    cached = _load_cached(path, recipe, num_classes)
    if cached is not None:
        return cached.to(device).eval()
    model = train_classifier(
        train_images,
        train_labels,
        num_classes=num_classes,
        epochs=epochs,
        batch_size=recipe["batch_size"],
        lr=recipe["lr"],
        augment=recipe["augment"],
        seed=seed,
        device=device,
        progress=progress,
    )
    state_dict = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    try:
        atomic_save({"recipe": recipe, "state_dict": state_dict}, path)
    except OSError as err:  # the metrics need the classifier, not its cache
        log.warning("the classifier is not cached: %s cannot be written (%s)", path, err.strerror)
    return model


def _load_cached(path: Path, recipe: dict, num_classes: int) -> DomainClassifier | None:
    """The classifier cached at ``path`` if it is the one ``recipe`` trains, else None: a
    file that is not (damaged, another recipe, weights of other names, shapes or dtypes, or
    not finite) is said in one warning and trained again, as a cache is rebuilt rather than
    trusted. The recipe is this one's, so the model it builds is known before the file's
    tensors are read."""
    try:
        if not path.exists():
            return None
        checkpoint = load_torch_file(path)  # a FIFO, a folder or a damaged file: refused
        if not isinstance(checkpoint, dict) or checkpoint.get("recipe") != recipe:
            raise ValueError("it was trained by another recipe")
        model = DomainClassifier(
            in_channels=recipe["in_channels"], num_classes=num_classes,
            image_size=recipe["image_size"], widths=tuple(recipe["widths"]),
            feature_dim=recipe["feature_dim"],
        )  # fmt: skip
        state = checkpoint.get("state_dict")
        check_network_state(model, state)  # names, shapes, dtypes before any value is read
        model.load_state_dict(state)
        return model
    except Exception as err:  # any way a file can fail to be the classifier
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:160]
        log.warning("%s is not a usable cached classifier (%s); training it again", path, reason)
        return None
