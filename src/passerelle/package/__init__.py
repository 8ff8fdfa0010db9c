"""The reversibility package: an archive as a BagIt bag of Activity Streams 2.0 JSON-LD,
file bytes, the SQLite database and a README (docs/package.md)."""
