"""Documents of an enrollment: types, upload checks, sealed contents in object storage
(docs/documents.md)."""
