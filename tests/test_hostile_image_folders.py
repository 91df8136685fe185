"""Hostile image folders: every image is read, or the folder is refused in one line before
an image is read; nothing is left out or read wrong without a word."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest
from PIL import Image
from test_split_limits import folder_run, image_folder, no_data_read  # noqa: F401

from aegan.data.image_folder import load_image_folder
from aegan.errors import DataFileError
from conftest import assert_one_error_line


def load(root, channels: int = 3):
    return load_image_folder(root=str(root), image_size=8, channels=channels, val_size=2,
                             split_seed=0, test_size=2)  # fmt: skip


def grey_images(folder, count: int = 6, suffix: str = ".png", level: int = 100):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        as_png = suffix == ".heic"  # a format PIL does not write: a PNG named like one
        Image.new("L", (8, 8), level).save(folder / f"{i}{suffix}", "PNG" if as_png else None)


def test_a_class_folder_that_is_a_link_is_read_and_a_loop_is_walked_once(tmp_path):
    """A linked class folder was passed over: its class was missing without a word."""
    grey_images(tmp_path / "elsewhere" / "b")
    grey_images(tmp_path / "root" / "a")
    (tmp_path / "root" / "b").symlink_to(tmp_path / "elsewhere" / "b")
    (tmp_path / "root" / "a" / "up").symlink_to(tmp_path / "root")  # a loop
    data = load(tmp_path / "root")
    assert data.classes == ("a", "b")
    assert len(data.train_images) + len(data.val_images) + len(data.test_images) == 12


def test_images_pil_reads_are_read_and_what_is_passed_over_is_one_line(tmp_path, caplog):
    """.tif files were passed over without a word; now read, and the rest said once."""
    grey_images(tmp_path / "a", suffix=".tif")
    grey_images(tmp_path / "b", suffix=".webp")
    grey_images(tmp_path / "c", suffix=".PNG")
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    (tmp_path / "b" / "labels.csv").write_text("x,y")
    (tmp_path / "c" / ".DS_Store").write_bytes(b"\0")
    (tmp_path / "d").mkdir()  # nothing in it is lost
    with caplog.at_level(logging.INFO, logger="aegan.data"):
        data = load(tmp_path)
    assert data.classes == ("a", "b", "c")
    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "passed over 4 entries (.csv files 1, .txt files 1, empty folders 1, hidden 1)" in line
    assert line.startswith(f"data.root={tmp_path}:")


def test_a_file_suffix_with_a_line_break_or_foreign_bytes_is_one_escaped_kind(tmp_path, caplog):
    """The kinds passed over were named by the files' suffixes as they were: a line break
    split the warning in two, and bytes that are not UTF-8 failed its write to train.log."""
    grey_images(tmp_path)
    (tmp_path / "notes.t\nxt").write_text("x")
    (tmp_path / os.fsdecode(b"notes.\xffz")).write_text("x")
    with caplog.at_level(logging.WARNING, logger="aegan.data"):
        load(tmp_path)
    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "passed over 2 entries (.\\xffz files 1, .t\\nxt files 1)" in line, line
    line.encode()  # what train.log is written in


@pytest.mark.usefixtures("no_data_read")
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: (root / "c2" / "notes").mkdir(parents=True) or
         (root / "c2" / "notes" / "read.me").write_text("x"),
         "the class folder {root}/c2 holds no image (.me files 1)"),
        (lambda root: grey_images(root / "c2", suffix=".heic"),
         "the class folder {root}/c2 holds no image (.heic files 6)"),
        (lambda root: grey_images(root, count=1, suffix=".jpg"),
         "the folder {root} holds 1 images (e.g. 0.jpg) beside class folders (c0, c1)"),
    ],
)  # fmt: skip
def test_a_class_folder_without_images_is_refused_before_reading(cli, tmp_path, make, message):
    """A class folder of files the loader does not read lost its class without a word; an
    image beside the class folders was a class of its own."""
    root = image_folder(tmp_path / "images", classes=2, per_class=30)
    make(root)
    result = cli("aegan.train", *folder_run(root), f"hydra.run.dir={tmp_path}/run")
    assert_one_error_line(result, message.format(root=root))


def test_a_folder_of_other_files_says_what_it_holds(cli, tmp_path):
    (tmp_path / "docs").mkdir()
    for name in ("a.txt", "b.txt", "c.pdf"):
        (tmp_path / "docs" / name).write_text("x")
    result = cli("aegan.train", *folder_run(tmp_path / "docs"), f"hydra.run.dir={tmp_path}/run")
    assert_one_error_line(
        result, f"no images found under data.root={tmp_path}/docs: .pdf files 1, .txt files 2"
    )


def test_a_folder_of_many_kinds_of_files_is_a_short_line(cli, tmp_path):
    """Every suffix was named: data.root=/sys was one line of 1,800 characters."""
    (tmp_path / "docs").mkdir()
    for i in range(40):
        (tmp_path / "docs" / f"{i}.x{i:02d}").write_text("x")
    (tmp_path / "docs" / "more.x00").write_text("x")
    result = cli("aegan.train", *folder_run(tmp_path / "docs"), f"hydra.run.dir={tmp_path}/run")
    assert_one_error_line(
        result, f"no images found under data.root={tmp_path}/docs: .x00 files 2, .x01 files 1, "
        ".x02 files 1, .x03 files 1, .x04 files 1, .x05 files 1, .x06 files 1, .x07 files 1 "
        "and 32 entries of 32 other kinds; images read: "
    )  # fmt: skip


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_a_folder_that_cannot_be_listed_is_refused(tmp_path):
    """An unreadable class folder was passed over: its images were missing without a word."""
    grey_images(tmp_path / "a")
    grey_images(tmp_path / "b")
    (tmp_path / "b").chmod(0)
    try:
        with pytest.raises(DataFileError, match=f"cannot list the folder {tmp_path}/b"):
            load(tmp_path)
    finally:
        (tmp_path / "b").chmod(0o755)


@pytest.mark.parametrize("mode", ["RGBA", "LA", "PA"])
@pytest.mark.parametrize("channels", [1, 3])
def test_transparent_pixels_show_white(tmp_path, mode, channels):
    """convert() dropped the alpha channel: a transparent pixel showed the colour it held
    (here black), and an icon on a transparent ground came out on black."""
    for i in range(8):
        image = Image.new("RGBA", (8, 8), (0, 0, 0, 0))  # transparent black
        image.paste((0, 0, 0, 255), (0, 0, 4, 8))  # the left half opaque black
        image = image.convert("P") if mode == "PA" else image.convert(mode)
        if mode == "PA":  # a palette image with a transparent index
            image.info["transparency"] = image.getpixel((7, 7))
        image.save(tmp_path / f"{i}.png")
    data = load(tmp_path, channels)
    left, right = data.train_images[..., :, :2], data.train_images[..., :, -2:]
    assert left.max() < 30 and right.min() > 225, data.train_images[0, 0]


@pytest.mark.parametrize("channels", [1, 3])
def test_images_of_every_mode_and_size_are_read_as_data_channels(tmp_path, caplog, channels):
    """Grey, palette, CMYK, CIELAB, 16-bit and colour images of several sizes in one folder:
    one shape, and the modes said in one line. A CIELAB TIFF read as grey was "unreadable
    image (conversion from LAB to RGB not supported)": PIL turns LAB into RGB only."""
    Image.new("L", (8, 8), 200).save(tmp_path / "grey.png")
    Image.new("RGB", (30, 10), (255, 0, 0)).save(tmp_path / "wide.jpg")
    Image.new("CMYK", (9, 9), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg")
    Image.new("P", (12, 12), 3).save(tmp_path / "palette.gif")
    Image.fromarray(np.full((8, 8), 40000, np.uint16)).save(tmp_path / "deep.tif")
    Image.new("LAB", (8, 8), (255, 128, 128)).save(tmp_path / "cielab.tif")
    for i in range(3):
        Image.new("1", (5, 7), 1).save(tmp_path / f"bits{i}.bmp")
    with caplog.at_level(logging.INFO, logger="aegan.data"):
        data = load(tmp_path, channels=channels)
    assert data.train_images.shape[1:] == (channels, 8, 8)
    assert any(f"read as data.channels={channels}" in r.getMessage() for r in caplog.records)


def test_a_photo_is_read_turned_as_its_exif_orientation_says(tmp_path):
    """A phone's photo stored sideways with an EXIF orientation was read sideways."""
    for i in range(6):
        image = Image.new("L", (16, 16), 0)
        image.paste(255, (8, 0, 16, 16))  # stored: black left, white right
        exif = Image.Exif()
        exif[0x0112] = 6  # shown turned a quarter clockwise: black on top
        image.save(tmp_path / f"{i}.jpg", exif=exif.tobytes())
    image = load(tmp_path, channels=1).train_images[0, 0].int()
    assert image[:2].max() < 30 and image[-2:].min() > 225, image


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("bad.ppm", b"P6\n8 x\n255\n" + bytes(192), "unreadable image"),
        ("empty.png", b"", "unreadable image"),
        ("float.tif", np.full((8, 8), 0.5, np.float32), "floating-point pixels (PIL mode F) have no fixed range"),
        ("int32.tif", np.full((8, 8), 10**9, np.int32), "32-bit integer pixels (PIL mode I, 1000000000 to 1000000000) have no fixed range"),
        ("negative.tif", np.full((8, 8), -5, np.int32), "32-bit integer pixels (PIL mode I, -5 to -5)"),
    ],
)  # fmt: skip
def test_a_damaged_or_unusable_image_is_one_line_naming_it(cli, tmp_path, name, content, reason):
    """A damaged PPM raised a ValueError, a traceback; a float TIFF read as black, a 32-bit
    integer one as white."""
    root = image_folder(tmp_path / "images", classes=2, per_class=30)
    if isinstance(content, np.ndarray):
        Image.fromarray(content).save(root / "c0" / name)
    else:
        (root / "c0" / name).write_bytes(content)
    result = cli("aegan.train", *folder_run(root), f"hydra.run.dir={tmp_path}/run")
    assert_one_error_line(result, f"{root}/c0/{name}: {reason}")


def test_a_class_named_in_bytes_that_are_not_utf8_is_shown_escaped(tmp_path):
    """A class folder named in Latin-1 was a class name no log or TensorBoard file could
    write: the run failed at its end, writing the projector's labels."""
    grey_images(tmp_path / "a")
    folder = os.fsencode(tmp_path) + b"/caf\xe9"
    os.mkdir(folder)
    grey_images(tmp_path / os.fsdecode(b"caf\xe9"))
    data = load(tmp_path)
    assert data.classes == ("a", "caf\\xe9")
    "\n".join(data.classes).encode()


def test_a_class_named_with_a_newline_or_tab_is_one_escaped_field(tmp_path):
    """A newline in a class folder's name split its label in two in the projector's TSV file
    (and a log line in two)."""
    for name in ("a\nb", "c\td"):
        grey_images(tmp_path / name)
    assert load(tmp_path).classes == ("a\\nb", "c\\td")


def test_folders_nested_too_deep_are_one_line(tmp_path):
    deep = tmp_path.joinpath(*["d"] * 120)
    grey_images(deep)
    with pytest.raises(DataFileError, match="its folders are nested more than 100 deep"):
        load(tmp_path)
