"""What a document is, told by its bytes: the client's file name and declared type decide
nothing. PDF (``%PDF-``), PNG (its 8-byte signature), JPEG (SOI and a marker) and HEIC/HEIF
(an ISO base media file whose ``ftyp`` box names a HEIF brand)."""

from __future__ import annotations

from enum import StrEnum


class DocumentFormat(StrEnum):
    PDF = "pdf"
    PNG = "png"
    JPEG = "jpeg"
    HEIC = "heic"

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self]

    @property
    def extension(self) -> str:
        return _EXTENSIONS[self]


_MEDIA_TYPES = {
    DocumentFormat.PDF: "application/pdf",
    DocumentFormat.PNG: "image/png",
    DocumentFormat.JPEG: "image/jpeg",
    DocumentFormat.HEIC: "image/heic",
}
_EXTENSIONS = {
    DocumentFormat.PDF: "pdf",
    DocumentFormat.PNG: "png",
    DocumentFormat.JPEG: "jpg",
    DocumentFormat.HEIC: "heic",
}
MEDIA_TYPES = frozenset(_MEDIA_TYPES.values())
FORMAT_NAMES = "PDF, PNG, JPEG or HEIC"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# ISO/IEC 23008-12 brands: HEVC-coded images and sequences, and the generic HEIF ones.
HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
)


def sniff(data: bytes) -> DocumentFormat | None:
    """The format ``data`` is in, or None when it is none of the four."""
    if data.startswith(b"%PDF-"):
        return DocumentFormat.PDF
    if data.startswith(PNG_SIGNATURE):
        return DocumentFormat.PNG
    if len(data) >= 4 and data.startswith(b"\xff\xd8\xff") and data[3] != 0xFF:
        return DocumentFormat.JPEG
    if _is_heif(data):
        return DocumentFormat.HEIC
    return None


def _is_heif(data: bytes) -> bool:
    """An ``ftyp`` box first (size, ``ftyp``, major brand, minor version, compatible brands)
    naming a HEIF brand as its major brand or a compatible one."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return False
    size = int.from_bytes(data[:4], "big")
    if size < 16 or size > len(data) or size % 4:
        return False
    brands = [data[8:12]] + [data[i : i + 4] for i in range(16, size, 4)]
    return any(brand in HEIF_BRANDS for brand in brands)
