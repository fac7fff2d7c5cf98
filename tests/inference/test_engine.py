"""Decoding with the real llaso-tiny: batching, KV cache, streaming, sampling, bad inputs."""

import numpy as np
import pytest

from llaso import SamplingParams
from llaso.inference.api import user_message

GREEDY = SamplingParams(max_new_tokens=12)


@pytest.fixture(scope="module")
def conversations(speech_clip):
    return [
        [user_message("Transcribe the audio.", str(speech_clip))],
        [{"role": "user", "content": "Name three colours."}],
        [user_message("What is said?", str(speech_clip)), {"role": "assistant", "content": "Something."},
         {"role": "user", "content": "Say it again, briefly."}],
    ]


def test_batch_equals_single_for_greedy(tiny, conversations):
    batched = [r.text for r in tiny.chat_batch(conversations, GREEDY, batch_size=3)]
    single = [tiny.chat(c, GREEDY) for c in conversations]
    assert batched == single
    assert all(batched)


def test_cached_equals_uncached(tiny, conversations):
    encoded = [tiny.encode(c) for c in conversations]
    cached = [r.text for r in tiny.engine.generate(encoded, GREEDY, use_cache=True)]
    uncached = [r.text for r in tiny.engine.generate(encoded, GREEDY, use_cache=False)]
    assert cached == uncached


def test_streaming_yields_the_same_text(base_pair, conversations):
    pieces = list(base_pair.stream_chat(conversations[1], GREEDY))
    assert len(pieces) > 1
    assert "".join(pieces) == base_pair.chat(conversations[1], GREEDY)


def test_stop_strings_and_token_limit(base_pair):
    messages = [{"role": "user", "content": "Name three fruits."}]
    full = base_pair.chat(messages, max_new_tokens=40)
    stop = full.split()[3]
    stopped = base_pair.chat(messages, max_new_tokens=40, stop=(stop,))
    assert stopped == full[: full.index(stop)].strip()
    result = base_pair.chat_batch([messages], SamplingParams(max_new_tokens=3))[0]
    assert result.num_tokens == 3


def test_sampling_is_reproducible_with_a_seed(base_pair, conversations):
    params = SamplingParams(max_new_tokens=16, temperature=1.0, top_p=0.9, seed=123)
    first = base_pair.chat(conversations[1], params)
    assert first == base_pair.chat(conversations[1], params)
    others = {base_pair.chat(conversations[1], SamplingParams(max_new_tokens=16, temperature=1.0, seed=s))
              for s in range(4)}
    assert len(others) > 1


def test_one_bad_audio_fails_only_its_sample(tiny, conversations, tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio at all" * 20)
    batch = [conversations[0], [user_message("Transcribe.", str(broken))],
             [user_message("Transcribe.", np.full(1600, np.nan, np.float32))], conversations[1]]
    results = tiny.chat_batch(batch, GREEDY)
    assert results[0].text and results[3].text
    assert results[1].text is None and str(broken) in results[1].error and "not decodable" in results[1].error
    assert "NaN" in results[2].error
    assert results[0].text == tiny.chat(conversations[0], GREEDY)


def test_generate_accepts_paths_bytes_and_arrays(tiny, speech_clip):
    from llaso.audio import load_audio

    by_path = tiny.generate("Transcribe the audio.", str(speech_clip), max_new_tokens=8)
    by_bytes = tiny.generate("Transcribe the audio.", speech_clip.read_bytes(), max_new_tokens=8)
    by_array = tiny.generate("Transcribe the audio.", load_audio(speech_clip), max_new_tokens=8)
    assert by_path == by_bytes == by_array


TEXT_QUESTIONS = ["What is the capital of France?", "Give me a synonym for happy.",
                  "How many legs does a spider have?", "Write one sentence about the sea."]


def _text_answers(model) -> list[str]:
    return [model.chat([{"role": "user", "content": q}], max_new_tokens=24) for q in TEXT_QUESTIONS]


def test_text_only_conversations_run_on_the_untouched_base_llm(tiny, base_pair):
    from llaso.model.adapter import routes_text_to_base

    assert routes_text_to_base(tiny.model)
    base = _text_answers(base_pair)
    assert _text_answers(tiny) == base
    assert "Paris" in base[0]
    tiny.model.config.base_llm_for_text_only = False  # the adapter is live: without routing, answers move
    try:
        assert _text_answers(tiny) != base
    finally:
        tiny.model.config.base_llm_for_text_only = True


def test_a_batch_mixing_audio_and_text_only_rows_is_split_not_mixed(tiny, conversations):
    encoded = [tiny.encode(c) for c in conversations]
    with pytest.raises(ValueError, match="batch them"):
        next(tiny.engine.stream_batch(encoded, GREEDY))
    assert [r.text for r in tiny.engine.generate(encoded, GREEDY)] == [tiny.chat(c, GREEDY) for c in conversations]


def test_save_pretrained_roundtrip_keeps_the_adapter_apart(tiny, tmp_path, conversations):
    from llaso import Llaso

    tiny.save_pretrained(tmp_path / "ckpt")
    assert (tmp_path / "ckpt" / "model.safetensors").exists()
    assert (tmp_path / "ckpt" / "chat_template.jinja").exists()
    assert (tmp_path / "ckpt" / "lora" / "adapter_model.safetensors").exists()
    again = Llaso.from_pretrained(tmp_path / "ckpt", device="cpu")
    assert again.chat(conversations[0], GREEDY) == tiny.chat(conversations[0], GREEDY)
    assert _text_answers(again) == _text_answers(tiny)
    assert tiny.model.config.base_llm_for_text_only  # saving left the loaded model as it was
