"""A local Tencent COS for development and tests (never shipped)."""
