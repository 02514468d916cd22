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
