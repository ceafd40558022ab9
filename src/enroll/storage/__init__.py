"""Object storage for documents' sealed contents: the file system or S3 (docs/documents.md)."""
