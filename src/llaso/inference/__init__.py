"""Inference: sampling settings, the decoding engine and the `Llaso` API."""
