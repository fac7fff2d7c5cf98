"""LLaSO data: the sample format, validation, statistics, the task registry, TTS layout
conversion and the llaso-mini corpus builder.

Modules: `schema` (read/write samples, sample <-> chat messages), `jsonstream` (streaming
reader), `validate`, `stats`, `tasks` (+ `templates.json`), `official` (task/layout from file
names), `layouts`, `tts/` (Piper, espeak-ng, flite, festival), `augment`, `music`,
`text_sources/`, `build_mini`. Nothing is imported here, so `import llaso.data.x` stays cheap.
"""
