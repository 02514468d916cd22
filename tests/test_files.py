"""Ground-floor file helpers (emoconvey._files)."""

from __future__ import annotations

import hashlib

from emoconvey._files import sha256_file


def test_sha256_file_matches_the_standard_digest(tmp_path):
    small = tmp_path / "abc.txt"
    small.write_bytes(b"abc")  # FIPS 180-2 test vector
    assert sha256_file(small) == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    big = tmp_path / "big.bin"
    data = bytes(range(256)) * 9000  # > 2 chunks of 1 MiB
    big.write_bytes(data)
    assert sha256_file(str(big)) == hashlib.sha256(data).hexdigest()
    (tmp_path / "empty").touch()
    assert sha256_file(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()


def test_replace_atomically_renames_a_complete_file_and_cleans_up_on_failure(tmp_path):
    import numpy as np
    import pytest

    from emoconvey._files import replace_atomically

    target = tmp_path / "x.npy"
    seen = []

    def save(tmp):
        seen.append(tmp)
        assert not target.exists()  # nothing at the final name while writing
        np.save(tmp, np.arange(3), allow_pickle=False)

    assert replace_atomically(str(target), save) == target
    assert seen[0].parent == tmp_path and seen[0].name.startswith(".x.")
    assert seen[0].suffix == ".npy" and not seen[0].exists()
    np.testing.assert_array_equal(np.load(target), np.arange(3))

    def broken(tmp):
        tmp.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        replace_atomically(target, broken)
    np.testing.assert_array_equal(np.load(target), np.arange(3))  # the old file stays
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]  # no temporary left
