"""Openly licensed text and generators with exact answers, for building llaso-mini.

`text_split(text)` decides once, from the text itself, whether a text belongs to the training
or the test split, so a sentence never crosses splits whatever task or seed uses it.
"""

from llaso.data.text_sources.split import normalise_key, text_split

__all__ = ["normalise_key", "text_split"]
