"""Scenes built on the inference API: each a library first, with the CLI and server on top."""
