"""TTS backends by engine name: the built-in ones, plus any registered at run time."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from llaso.data.tts.base import TTSBackend, TTSError


def _factories() -> dict[str, Callable[[], TTSBackend]]:
    from llaso.data.tts.espeak import EspeakBackend
    from llaso.data.tts.festival import FestivalBackend
    from llaso.data.tts.flite import FliteBackend
    from llaso.data.tts.piper import PiperBackend

    return {"espeak-ng": EspeakBackend, "flite": FliteBackend, "festival": FestivalBackend,
            "piper": PiperBackend}


class BackendSet:
    """Backends by engine name, created on first use (one per process: Piper loads a model)."""

    def __init__(self) -> None:
        self._factories = _factories()
        self._made: dict[str, TTSBackend] = {}

    def register(self, name: str, factory: Callable[[], TTSBackend]) -> None:
        self._factories[name] = factory
        self._made.pop(name, None)

    def get(self, name: str) -> TTSBackend:
        if name not in self._made:
            if name not in self._factories:
                raise TTSError(f"unknown TTS engine {name!r}; known: {', '.join(self._factories)}")
            backend = self._factories[name]()
            if not backend.available():
                raise TTSError(f"TTS engine {name!r} is not installed on this machine")
            self._made[name] = backend
        return self._made[name]

    def names(self) -> list[str]:
        return list(self._factories)


@lru_cache(maxsize=1)
def default_backends() -> BackendSet:
    """The process's backends (created on first use; Piper's model loads once)."""
    return BackendSet()


def get_backend(name: str) -> TTSBackend:
    return default_backends().get(name)


def register_backend(name: str, factory: Callable[[], TTSBackend]) -> None:
    """Make another engine available under `name` (e.g. a cloud or neural TTS of your own)."""
    default_backends().register(name, factory)
