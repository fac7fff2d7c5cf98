"""One training stage, described by a YAML file and validated here, at the edge.

LLaSO trains in stages (alignment, then instruction tuning); a stage is only configuration:
which parts learn, where the weights start from, which data, objective, optimiser, schedule,
batch and precision. `llaso train --config STAGE.yaml` runs any of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, field_validator, model_validator

from llaso.errors import LlasoError


class TrainConfigError(LlasoError, ValueError):
    """A training config that cannot be used; names the file and the offending field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class ModelSection(_Strict):
    """Where the weights come from.

    Either `base` (a registered model name such as `llaso-tiny`, or a llaso checkpoint
    folder), or `encoder` + `llm` (Hugging Face folders of a Whisper model and a causal LM)
    to compose a new model whose projector starts random.
    """

    base: str | None = "llaso-tiny"
    encoder: str | None = None
    llm: str | None = None
    projector_type: str = "mlp2x_gelu"
    stack_factor: int = Field(4, ge=1)
    summary_token: bool = False
    """One pooled per-clip token after the stacked audio tokens (a composed model only)."""
    summary_layers: list[int] = []
    """Earlier encoder layers pooled into the summary token too (0 = convolutions, i = layer i)."""
    encoder_mode: Literal["trimmed", "padded"] = "trimmed"
    transcript_grounding: bool = False
    """The model writes each audio's transcript beside its tokens (a composed Whisper model only)."""
    chat_template: str | None = None
    """A Jinja chat template file for a composed model (default: ChatML, no system prompt)."""
    home: str | None = None
    """Where converted base weights are cached (default: llaso's home)."""
    init_from: str | None = None
    """A previous stage's output folder (projector.safetensors, optional lora/)."""
    reset_projector: bool = False
    """Start the projector from random weights even if the base ships trained ones."""

    @model_validator(mode="after")
    def _one_source(self) -> ModelSection:
        composed = self.encoder is not None or self.llm is not None
        if composed and (self.encoder is None or self.llm is None):
            raise ValueError("model.encoder and model.llm must be given together")
        if self.summary_layers and not self.summary_token:
            raise ValueError("model.summary_layers needs model.summary_token: true")
        if composed:
            self.base = None
        elif self.base is None:
            raise ValueError("give model.base, or model.encoder and model.llm")
        return self


class LoraSection(_Strict):
    r: int = Field(16, ge=1)
    alpha: float = 32.0
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: list[str] = ["q_proj", "k_proj", "v_proj", "o_proj"]


class TrainableSection(_Strict):
    projector: bool = True
    encoder: bool = False
    llm: Literal["frozen", "lora", "full"] = "frozen"


class ObjectiveSection(_Strict):
    """Loss terms. `lm_weight: 0` with `ctc_weight > 0` is the cheap CTC pre-alignment."""

    lm_weight: float = Field(1.0, ge=0.0)
    lm_average: Literal["token", "sample"] = "token"
    """`sample`: each sample's answer counts the same, however long (see llaso.train.lm_loss)."""
    ctc_weight: float = Field(0.0, ge=0.0)
    ctc_tasks: list[str] = ["ASR"]
    """Tasks whose assistant answer is the transcript (the CTC target)."""

    @model_validator(mode="after")
    def _some_loss(self) -> ObjectiveSection:
        if self.lm_weight == 0 and self.ctc_weight == 0:
            raise ValueError("objective: lm_weight and ctc_weight are both 0; nothing to learn")
        return self


class DataSection(_Strict):
    train: list[str]
    """LLaSO-format JSON/JSONL files or globs (relative to the working directory)."""
    eval: list[str] = []
    audio_root: str | None = None
    """Folder the samples' `voice` paths are relative to (default: each file's dataset root)."""
    tasks: list[str] | None = None
    layouts: list[str] | None = None
    """Only these layouts ("t,a", "a,t", "a"; file-name tags such as "ta" are accepted too)."""
    max_samples: int | None = Field(None, ge=1)
    """At most this many samples from each file."""
    max_samples_by_task: dict[str, PositiveInt] = {}
    """Per-task overrides of max_samples (still per file), to weight a mix without new files."""
    max_length: int = Field(512, ge=16)

    @field_validator("layouts")
    @classmethod
    def _one_spelling(cls, layouts: list[str] | None) -> list[str] | None:
        from llaso.data.layout import Layout

        return [Layout.parse(layout).value for layout in layouts] if layouts else layouts
    cache_encoder: bool = True
    cache_dir: str | None = None
    group_by_length: bool = True
    num_workers: int = Field(0, ge=0)


class OptimSection(_Strict):
    name: Literal["adamw"] = "adamw"
    lr: float = Field(1e-3, gt=0)
    projector_lr: float | None = Field(None, gt=0)
    encoder_lr: float | None = Field(None, gt=0)
    """A pretrained encoder usually wants a smaller step than the fresh projector or LoRA."""
    weight_decay: float = Field(0.0, ge=0)
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    max_grad_norm: float | None = 1.0


class ScheduleSection(_Strict):
    kind: Literal["cosine", "linear", "constant"] = "cosine"
    warmup_steps: int = Field(0, ge=0)
    max_steps: int = Field(1000, ge=1)
    """Optimizer steps (after accumulation) for the whole stage."""
    min_lr_ratio: float = Field(0.0, ge=0.0, le=1.0)


class BatchSection(_Strict):
    size: int = Field(8, ge=1)
    """Samples per process per micro-batch."""
    grad_accum: int = Field(1, ge=1)


class CheckpointSection(_Strict):
    every: int = Field(100, ge=1)
    """Optimizer steps between resumable checkpoints."""
    every_minutes: float | None = Field(None, gt=0)
    """Also checkpoint when this much wall time passed since the last one."""
    keep_last: int = Field(2, ge=1)


class EvalSection(_Strict):
    every: int = Field(0, ge=0)
    """Optimizer steps between held-out evaluations; 0 evaluates only at the end."""
    num_samples: int = Field(32, ge=1)
    tasks: list[str] = ["ASR"]
    max_new_tokens: int = Field(48, ge=1)


class LogSection(_Strict):
    every: int = Field(10, ge=1)


class StageConfig(_Strict):
    name: str
    output_dir: str
    seed: int = 0
    model: ModelSection = ModelSection()
    trainable: TrainableSection = TrainableSection()
    lora: LoraSection = LoraSection()
    objective: ObjectiveSection = ObjectiveSection()
    data: DataSection
    optim: OptimSection = OptimSection()
    schedule: ScheduleSection = ScheduleSection()
    batch: BatchSection = BatchSection()
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "fp32"
    """`auto`: bf16 where the hardware has it (GPU, AVX512-BF16/AMX CPU), else fp32 (fp16 on GPUs
    without bf16); see llaso.train.precision."""
    checkpoint: CheckpointSection = CheckpointSection()
    eval: EvalSection = EvalSection()
    log: LogSection = LogSection()
    threads: int | None = Field(None, ge=1)
    """torch intra-op threads (a shared machine wants 1)."""

    source: str | None = None
    """The file this config was read from (set by `load_config`)."""

    @model_validator(mode="after")
    def _something_learns(self) -> StageConfig:
        t = self.trainable
        if not (t.projector or t.encoder or t.llm != "frozen"):
            raise ValueError("trainable: nothing is trainable")
        if self.objective.lm_weight == 0 and (t.encoder or t.llm != "frozen"):
            raise ValueError("a CTC-only stage trains the projector alone (trainable.llm: frozen)")
        return self

    def resolve(self, path: str) -> Path:
        """A path from the config; relative paths are taken from the working directory
        (shipped configs are run from the repository root, as their header commands show)."""
        return Path(path).expanduser().resolve()

    @property
    def output_path(self) -> Path:
        return self.resolve(self.output_dir)


def parse_config(data: dict, source: str = "<config>") -> StageConfig:
    """Validate a mapping into a StageConfig; errors name the source and the field."""
    if not isinstance(data, dict):
        raise TrainConfigError(f"{source}: expected a mapping at the top level")
    try:
        cfg = StageConfig.model_validate({**data, "source": source})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise TrainConfigError(f"{source}: {where}: {first['msg']}") from None
    return cfg


def load_config(path: str | Path, overrides: list[str] | None = None) -> StageConfig:
    """Read a stage config from YAML. `overrides` are `dotted.key=value` (YAML values)."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise TrainConfigError(f"{p}: no such config file")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise TrainConfigError(f"{p}: not valid YAML ({exc})") from None
    for item in overrides or []:
        apply_override(data, item, source=str(p))
    return parse_config(data, source=str(p.resolve()))


def apply_override(data: dict, item: str, source: str = "<config>") -> None:
    """Set `a.b.c=value` in a nested mapping; the value is parsed as YAML."""
    import yaml

    if "=" not in item:
        raise TrainConfigError(f"{source}: override {item!r} is not KEY=VALUE")
    key, raw = item.split("=", 1)
    node = data
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise TrainConfigError(f"{source}: override {key!r}: {part} is not a section")
    node[parts[-1]] = yaml.safe_load(raw)
