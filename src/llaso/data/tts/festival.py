"""Festival (Debian): kal_diphone and the HTS voice cmu_us_slt_arctic_hts (female)."""

from __future__ import annotations

import os
import tempfile

from llaso.data.tts.base import Synthesis, TTSError, Voice, decode_wav, program_available, run_engine


class FestivalBackend:
    name = "festival"

    def available(self) -> bool:
        return program_available("text2wave")

    def synthesize(self, text: str, voice: Voice, rate: float = 1.0) -> Synthesis:
        fd, wav = tempfile.mkstemp(suffix=".wav", prefix="llaso-festival-")
        os.close(fd)
        speed = rate * voice.params.get("rate", 1.0)
        # HTS voices ignore Duration_Stretch: they are time-stretched afterwards (sox tempo).
        hts = "hts" in voice.name
        stretch = 1.0 if hts else 1.0 / speed
        setup = f"(begin (voice_{voice.name}) (Parameter.set 'Duration_Stretch {stretch:.3f}))"
        try:
            run_engine(["text2wave", "-eval", setup, "-o", wav], stdin=text,
                       what=f"festival voice {voice.name}")
            with open(wav, "rb") as handle:
                data = handle.read()
        finally:
            os.unlink(wav)
        if not data:
            raise TTSError(f"festival voice {voice.name} wrote no audio")
        synthesis = decode_wav(data, f"festival voice {voice.name}")
        if hts and abs(speed - 1.0) > 1e-3:
            from llaso.data.augment import run_sox

            stretched = run_sox(synthesis.samples, synthesis.sampling_rate,
                                ["tempo", "-s", f"{speed:.4f}"], synthesis.sampling_rate)
            synthesis = Synthesis(stretched, synthesis.sampling_rate)
        return synthesis
