"""Encryption at rest of personal data: AES-256-GCM under data keys with ids (docs/security.md)."""
