"""Text-to-speech backends behind one interface, and the catalogue of voices llaso-mini uses."""

from llaso.data.tts.base import Synthesis, TTSBackend, TTSError, Voice
from llaso.data.tts.registry import get_backend, register_backend
from llaso.data.tts.voices import voice_catalogue

__all__ = ["Synthesis", "TTSBackend", "TTSError", "Voice", "get_backend", "register_backend",
           "voice_catalogue"]
