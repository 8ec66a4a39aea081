"""`course_lib.data.errors`: the messages word for word (they are the user interface when data is missing)."""

from __future__ import annotations

from course_lib.data import errors


def test_data_not_found_message_word_for_word(tmp_path):
    error = errors.DataNotFoundError(
        "mnist.npz", [tmp_path / "a", tmp_path / "b"], "https://example.org/mnist.npz", tmp_path, "offline"
    )
    assert str(error) == (
        "mnist.npz is not available.\n"
        f"Looked in:\n  - {tmp_path / 'a'}\n  - {tmp_path / 'b'}\n"
        "Download from https://example.org/mnist.npz failed: offline\n"
        "How to fix (any one of):\n"
        f"  1. Connect to the internet and run again: the file is downloaded and cached in {tmp_path}.\n"
        f"  2. Download https://example.org/mnist.npz on another machine and copy it to {tmp_path / 'mnist.npz'}.\n"
        "  3. Point COURSE_DATA_DIR (or the data_dir parameter) at a folder that already holds the file or\n"
        "     its unpacked folder (a lab mirror, a USB stick). If that copy was re-packed and its checksum\n"
        "     differs, also set COURSE_ACCEPT_MIRROR=1 (or accept_mirror=True).\n"
        "  4. Run on the built-in tiny data instead: data_source='tiny' in a notebook,\n"
        "     or `python run.py course --tiny` for the whole course."
    )


def test_checksum_mismatch_messages_word_for_word(tmp_path):
    path = tmp_path / "x.tar.gz"
    downloaded = errors.ChecksumMismatchError(path, "aa", "bb", downloaded=True)
    assert str(downloaded) == (
        f"Checksum mismatch for {path}:\n  expected aa\n  got      bb\n"
        "The download was corrupted or the server sent another file; it was deleted. Run again to retry."
    )
    local = errors.ChecksumMismatchError(path, "aa", "bb", downloaded=False)
    assert str(local) == (
        f"Checksum mismatch for {path}:\n  expected aa\n  got      bb\n"
        "If this is a re-packed copy from a mirror you trust, set COURSE_ACCEPT_MIRROR=1\n"
        "(or accept_mirror=True): it is then checked by structure instead of bytes.\n"
        f"Otherwise delete {path} and run again to download the official file."
    )


def test_invalid_data_message_word_for_word(tmp_path):
    assert str(errors.InvalidDataError(tmp_path / "f", "too short")) == (
        f"{tmp_path / 'f'} is not a valid copy: too short.\n"
        "Replace it with a complete copy, or delete it and run again to download the official file."
    )
