"""Flite (Debian): CMU voices kal, awb (Scottish), rms, slt (female)."""

from __future__ import annotations

import os
import tempfile

from llaso.data.tts.base import Synthesis, TTSError, Voice, decode_wav, program_available, run_engine


class FliteBackend:
    name = "flite"

    def __init__(self) -> None:
        self._voices: set[str] | None = None

    def available(self) -> bool:
        return program_available("flite")

    def voices(self) -> set[str]:
        """Installed voice names (`flite -lv`); flite itself falls back silently on a typo."""
        if self._voices is None:
            listing = run_engine(["flite", "-lv"], what="listing flite voices").decode()
            self._voices = set(listing.split(":", 1)[-1].split())
        return self._voices

    def synthesize(self, text: str, voice: Voice, rate: float = 1.0) -> Synthesis:
        if voice.name not in self.voices():
            raise TTSError(f"flite has no voice {voice.name!r}; installed: {sorted(self.voices())}")
        fd, wav = tempfile.mkstemp(suffix=".wav", prefix="llaso-flite-")
        os.close(fd)
        try:
            stretch = 1.0 / (rate * voice.params.get("rate", 1.0))
            run_engine(["flite", "-voice", voice.name, "--setf", f"duration_stretch={stretch:.3f}",
                        "-t", text, "-o", wav], what=f"flite voice {voice.name}")
            with open(wav, "rb") as handle:
                data = handle.read()
        finally:
            os.unlink(wav)
        if not data:
            raise TTSError(f"flite voice {voice.name} wrote no audio")
        return decode_wav(data, f"flite voice {voice.name}")
