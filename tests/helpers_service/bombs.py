"""Decompression bombs for the tests, made at run time in little memory: small files that decode to gigabytes."""

from __future__ import annotations

import struct
import zlib


def flat_jpeg(width: int, height: int) -> bytes:
    """A valid baseline greyscale JPEG, one flat mid-grey: each 8x8 block is 'DC unchanged, end of block', coded
    with Huffman tables of a single 1-bit code, so the scan is two zero bits a block. 16000 x 16000: 1 MB that
    decodes to 768 MB in BGR."""

    def segment(marker: int, payload: bytes) -> bytes:
        return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload

    one_code = bytes([1] + [0] * 15)  # one code of length 1, for symbol 0
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    return (
        b"\xff\xd8"
        + segment(0xDB, b"\x00" + bytes([1] * 64))  # quantisation table 0: all ones
        + segment(0xC0, b"\x08" + struct.pack(">HH", height, width) + b"\x01\x01\x11\x00")  # one component
        + segment(0xC4, b"\x00" + one_code + b"\x00" + b"\x10" + one_code + b"\x00")  # DC 0: category 0; AC 0: EOB
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + bytes((2 * blocks + 7) // 8)
        + b"\xff\xd9"
    )


def png_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """A valid 1-bit black PNG: 20000 x 20000 is about 48 kB that decodes to 1.2 GB in BGR."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    packer, row = zlib.compressobj(9), b"\x00" * (1 + (width + 7) // 8)  # filter byte, then the packed pixels
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
