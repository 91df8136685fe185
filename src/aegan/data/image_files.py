"""List the image files of ``data.root`` without reading one: what ``data=image_folder`` reads.

Folders are walked through symbolic links (a folder reached twice, as by a link back up, is
walked once). Hidden files and folders (``.DS_Store``, ``.ipynb_checkpoints``) and files of
other kinds are passed over, and said in one line by ``Listing.skipped_line``, as are empty
folders. Classes are the folders that hold images; beside them, a folder of files but no
image, or images of their own, is refused: its files would be missing, or a class of their
own, without a word.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from PIL import features

from aegan.errors import ConfigError, DataFileError, DataNotFoundError
from aegan.io.files import file_stamp
from aegan.io.path_kinds import path_kind, shown

# The image formats read, by file suffix: those PIL decodes itself, less those it needs an
# optional library for that this installation lacks.
_SUFFIX_NEEDS = {
    ".png": None, ".bmp": None, ".dib": None, ".gif": None, ".ico": None, ".tga": None,
    ".ppm": None, ".pgm": None, ".pbm": None, ".pnm": None, ".qoi": None,
    ".jpg": "jpg", ".jpeg": "jpg", ".jpe": "jpg", ".jfif": "jpg",
    ".tif": "libtiff", ".tiff": "libtiff", ".webp": "webp", ".avif": "avif",
    ".jp2": "jpg_2000", ".j2k": "jpg_2000", ".jpx": "jpg_2000",
}  # fmt: skip
_SUPPORTED = set(features.get_supported())
IMAGE_SUFFIXES = frozenset(s for s, need in _SUFFIX_NEEDS.items() if need in (None, *_SUPPORTED))
DEEPEST = 100  # folders nested deeper are refused: the walk is recursive
SHOWN_KINDS = 8  # kinds of entries passed over that a line names; the rest are one count


@dataclass
class Listing:
    """An image folder's files in sorted order, each with its class's index."""

    folder: Path
    files: list[Path] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)  # folders relative to ``folder``; "."
    skipped: Counter = field(default_factory=Counter)  # what was passed over: counts by kind
    stamps: dict[Path, tuple[int, ...]] = field(default_factory=dict)  # file_stamp of each
    most_entries: int | None = None  # entries (files and folders) listed before a refusal
    entries: int = 0  # listed so far

    def stamp(self) -> tuple:
        """The files, their classes and their stamps: equal only for the same bytes on disk
        (as far as ``stat`` tells), so images read from an equal listing can be reused."""
        return tuple(zip(self.files, self.labels, map(self.stamps.get, self.files), strict=True))

    def skipped_line(self) -> str | None:
        """One line saying what was passed over and why; None if nothing was."""
        if not self.skipped:
            return None
        return (
            f"data.root={shown(self.folder)}: passed over {self.skipped.total()} entries "
            f"({_counted(self.skipped)}); images read: {', '.join(sorted(IMAGE_SUFFIXES))}"
        )


def list_image_folder(
    root: str | None, *, val_size: int, test_size: int, most_entries: int | None = None
) -> Listing:
    """The images of ``data.root``, their classes (the sub-folders that hold images, "." for
    the folder itself), what was passed over; refuses splits that leave no training image.
    ``most_entries``: a ``TooManyEntries`` once more files and folders than that are listed,
    before the rest are (a folder a run's record names may be ``/``)."""
    if not root:
        raise DataNotFoundError("data=image_folder needs data.root=FOLDER (a folder of images)")
    folder = Path(root).expanduser()
    if not folder.is_dir():
        raise DataNotFoundError(f"data.root={shown(folder)} is not a folder")
    listing = Listing(folder, most_entries=most_entries)
    by_class: dict[str, list[Path]] = {}
    _walk(folder, listing, by_class, entered=set())
    if not by_class:
        raise DataNotFoundError(
            f"no images found under data.root={shown(folder)}: "
            f"{_found(listing.skipped)}; images read: {', '.join(sorted(IMAGE_SUFFIXES))}"
        )
    listing.classes = sorted(by_class)
    for index, name in enumerate(listing.classes):
        listing.files += by_class[name]
        listing.labels += [index] * len(by_class[name])
    order = sorted(range(len(listing.files)), key=lambda i: listing.files[i])
    listing.files = [listing.files[i] for i in order]
    listing.labels = [listing.labels[i] for i in order]
    if test_size + val_size >= len(listing.files):
        raise ConfigError(
            f"data.test_size={test_size} and data.val_size={val_size} leave no training images: "
            f"data.root={shown(folder)} holds {len(listing.files)} images"
        )
    return listing


class TooManyEntries(DataFileError):
    """An image folder holding more files and folders than its ``Listing.most_entries``."""


def _counted_entries(directory: Path, listing: Listing):
    """The entries of ``directory``, each counted into ``listing``: a ``TooManyEntries`` at
    the first past its ``most_entries``, one folder of millions included."""
    with os.scandir(directory) as found:
        for entry in found:
            listing.entries += 1
            if listing.most_entries is not None and listing.entries > listing.most_entries:
                raise TooManyEntries(
                    f"data.root={shown(listing.folder)} holds more than {listing.most_entries} "
                    "files and folders"
                )
            yield entry


def _found(skipped: Counter) -> str:
    return _counted(skipped) or "it is empty"


def _counted(skipped: Counter) -> str:
    """``skipped`` as "kind count, ..." by kind: the ``SHOWN_KINDS`` most numerous, and the
    rest as one count, so a folder of many suffixes (a home folder, /usr) is a short line."""
    most = sorted(sorted(skipped.items(), key=lambda item: (-item[1], item[0]))[:SHOWN_KINDS])
    line = ", ".join(f"{kind} {count}" for kind, count in most)
    if len(skipped) > len(most):
        rest = skipped.total() - sum(count for _, count in most)
        line += f" and {rest} entries of {len(skipped) - len(most)} other kinds"
    return line


def _plural(kind: str) -> str:
    """``path_kind``'s words as a count's name: "a FIFO" -> "FIFOs", "a link to nothing" ->
    "links to nothing"."""
    article, _, rest = kind.partition(" ")
    if article not in ("a", "an"):
        return kind
    first, _, tail = rest.partition(" ")
    return f"{first}s {tail}".strip()


def _walk(
    directory: Path, listing: Listing, by_class: dict[str, list[Path]], entered: set,
    depth: int = 0,
) -> tuple[int, Counter]:  # fmt: skip
    """Add the images under ``directory`` to ``by_class``: (how many, what was passed over)."""
    if depth > DEEPEST:
        raise DataFileError(
            f"data.root={shown(listing.folder)}: its folders are nested more than {DEEPEST} "
            f"deep; move the images nearer to it (one of them: {shown(directory)})"
        )
    info = directory.stat()
    entered.add((info.st_dev, info.st_ino))
    try:
        entries = sorted(_counted_entries(directory, listing), key=lambda e: e.name)
    except OSError as err:  # an unreadable folder would leave its images out without a word
        raise DataFileError(
            f"data.root={shown(listing.folder)}: cannot list the folder {shown(directory)} "
            f"({err.strerror or err})"
        ) from err
    images, folders, skipped = [], [], Counter()
    for entry in entries:
        path = Path(entry.path)
        if entry.name.startswith("."):
            skipped["hidden"] += 1
            continue
        try:
            target = path.stat()  # through a link: the file or folder it names
        except OSError:  # a link to nothing, a loop of links
            skipped[_plural(path_kind(path) or "entries gone meanwhile")] += 1
            continue
        if stat.S_ISDIR(target.st_mode):
            if (target.st_dev, target.st_ino) in entered:  # a loop, or a second way in
                skipped["links to folders already read"] += 1
            else:
                folders.append(path)
        elif not stat.S_ISREG(target.st_mode):  # a FIFO named x.png would wait forever
            skipped[_plural(path_kind(path) or "entries changed meanwhile")] += 1
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            images.append(path)
            listing.stamps[path] = file_stamp(target)
        else:
            skipped[f"{shown(path.suffix.lower()) or 'no suffix'} files"] += 1  # one printable line
    listing.skipped.update(skipped)
    below = {sub: _walk(sub, listing, by_class, entered, depth + 1) for sub in folders}
    with_images = [shown(sub.name) for sub, (count, _) in below.items() if count]
    if images and with_images:
        raise DataFileError(
            f"data.root={shown(listing.folder)}: the folder {shown(directory)} holds "
            f"{len(images)} images (e.g. {shown(images[0].name)}) beside class folders "
            f"({', '.join(with_images[:5])}); move them into a class folder or away"
        )
    for sub, (count, passed_over) in below.items():
        if count:
            continue
        if not set(passed_over) - {"hidden", "empty folders"}:  # nothing in it is lost
            listing.skipped["empty folders"] += 1
            skipped["empty folders"] += 1
        elif images or with_images:  # its files would be missing without a word
            raise DataFileError(
                f"data.root={shown(listing.folder)}: the class folder {shown(sub)} holds no "
                f"image ({_found(passed_over)}); images read: "
                f"{', '.join(sorted(IMAGE_SUFFIXES))}; add images or remove the folder"
            )
    if images:
        by_class[directory.relative_to(listing.folder).as_posix()] = images
    for _, passed_over in below.values():
        skipped.update(passed_over)
    return len(images) + sum(count for count, _ in below.values()), skipped
