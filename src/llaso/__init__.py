"""llaso: large speech-language models you can run, evaluate and train on your own machine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from llaso.generation.sampling import SamplingParams
    from llaso.inference.api import Llaso

__all__ = ["Llaso", "SamplingParams", "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy so that `import llaso` (and `llaso --help`) does not pay for importing torch.
    if name == "Llaso":
        from llaso.inference.api import Llaso

        return Llaso
    if name == "SamplingParams":
        from llaso.generation.sampling import SamplingParams

        return SamplingParams
    raise AttributeError(f"module 'llaso' has no attribute {name!r}")
