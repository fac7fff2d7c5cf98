"""Decoding: the engine (batched, KV-cached, streamable) and how the next token is picked.

It sits below the Python API so that training's held-out checks decode with the same code that
answers users, without depending on the inference layer.
"""
