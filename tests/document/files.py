"""Minimal files of each document format, each carrying a marker of its own (a plaintext to
look for where it must not be), and the upload request."""

from __future__ import annotations

import struct
import uuid
import zlib
from typing import Any

import httpx


def marker() -> bytes:
    return f"PLAINTEXT-{uuid.uuid4().hex}".encode()


def pdf(mark: bytes) -> bytes:
    return (
        b"%PDF-1.4\n%" + mark + b"\n"
        b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(mark: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)  # 1x1, 8-bit greyscale
    pixels = zlib.compress(b"\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"tEXt", b"Comment\x00" + mark)
        + _chunk(b"IDAT", pixels)
        + _chunk(b"IEND", b"")
    )


def jpeg(mark: bytes) -> bytes:
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    comment = b"\xff\xfe" + struct.pack(">H", len(mark) + 2) + mark
    return b"\xff\xd8" + app0 + comment + b"\xff\xd9"


def heic(mark: bytes) -> bytes:
    ftyp = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
    free = struct.pack(">I", len(mark) + 8) + b"free" + mark
    return ftyp + free


MAKERS = {"application/pdf": pdf, "image/png": png, "image/jpeg": jpeg, "image/heic": heic}


def upload(
    client: httpx.Client,
    enrollment_id: str,
    content: bytes,
    *,
    type: str = "PAY_STUB",
    issued_at: str = "2026-01-15",
    owner: str | None = "applicant",
    filename: str = "statement.txt",
    declared: str = "application/octet-stream",
    **kwargs: Any,
) -> httpx.Response:
    """POST the file as a form; its name and declared type say nothing true on purpose."""
    fields = {"type": type, "issuedAt": issued_at}
    if owner is not None:
        fields["owner"] = owner
    return client.post(
        f"/v1/enrollments/{enrollment_id}/documents",
        files={"file": (filename, content, declared)},
        data=fields,
        **kwargs,
    )
