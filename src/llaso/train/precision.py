"""Which numeric precision a stage trains in, given what the hardware does natively.

bf16 autocast halves a step on GPUs and on CPUs with bf16 instructions (AVX512-BF16, AMX, Arm
BF16), and is emulated everywhere else: on an AVX2-only AMD EPYC, stage 2 of llaso-tiny ran
about 30x slower in bf16 than in fp32. `precision: auto` picks the fast one; an explicit `bf16`
on a CPU without it still runs, with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

# Accelerate's names for them.
MIXED_PRECISION = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}


@dataclass(frozen=True)
class Hardware:
    """What decides the precision: a CUDA device (and whether it has bf16), the CPU's bf16."""

    cuda: bool
    cuda_bf16: bool
    cpu_bf16: bool


def cpu_has_native_bf16() -> bool:
    """True when the CPU has bf16 arithmetic (as torch reports it; a torch too old to say: no)."""
    capabilities = getattr(torch.cpu, "get_capabilities", None)
    if capabilities is None:
        return False
    found = capabilities()
    return any(bool(found.get(name)) for name in ("avx512_bf16", "amx_bf16", "bf16", "sve_bf16"))


def detect_hardware() -> Hardware:
    cuda = torch.cuda.is_available()
    return Hardware(cuda=cuda, cuda_bf16=cuda and torch.cuda.is_bf16_supported(), cpu_bf16=cpu_has_native_bf16())


def resolve_precision(requested: str, hardware: Hardware) -> tuple[str, str | None]:
    """(precision to train in, a warning or None) for `requested` (auto, fp32, bf16, fp16)."""
    if requested not in ("auto", *MIXED_PRECISION):
        raise ValueError(f"precision must be auto, fp32, bf16 or fp16, not {requested!r}")
    if requested == "auto":
        if hardware.cuda:
            return ("bf16" if hardware.cuda_bf16 else "fp16"), None
        return ("bf16" if hardware.cpu_bf16 else "fp32"), None
    if requested == "bf16" and not hardware.cuda and not hardware.cpu_bf16:
        return "bf16", ("precision bf16 on a CPU without bf16 instructions is emulated: expect steps "
                        "many times slower than fp32 (set precision: auto or fp32)")
    if requested == "fp16" and not hardware.cuda:
        return "fp16", "precision fp16 on a CPU is emulated and slow: set precision: auto or fp32"
    return requested, None
