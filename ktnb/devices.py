"""Where training runs and in what precision: the device ("auto": cuda > mps > cpu), mixed
precision ("auto": bf16/fp16 on GPUs, bf16 on CPUs that multiply it natively), and the
`accelerate.Accelerator` that applies both. Used by the learner and the predictor alike."""

from __future__ import annotations

from typing import Any

import torch

from .errors import TrainingError
from .models import model_width

MIXED_PRECISION = ("auto", "no", "fp16", "bf16")


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """cuda > mps > cpu for "auto"; an explicit device must exist."""
    if device is None or str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise TrainingError(f"unknown device {device!r}; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise TrainingError(f"device {device!r} asked for, but CUDA is not available here; use device='auto' or 'cpu'")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise TrainingError(f"device {device!r} asked for, but MPS is not available here; use device='auto' or 'cpu'")
    return dev


def cpu_has_native_bf16() -> bool:
    """x86 CPUs with AVX512-BF16 or AMX multiply bfloat16 in hardware (twice the fp32 speed for
    MiniLM here); elsewhere bf16 is emulated or converted and gains nothing."""
    import torch.cpu

    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        check = getattr(torch.cpu, probe, None)
        try:
            if check is not None and check():
                return True
        except Exception:  # noqa: BLE001 - a private probe; its absence only means "don't know"
            continue
    return False


#: Below this width (hidden size) the casts eat what bf16 matmuls save on a CPU: a training step
#: ran 1.01x faster at width 32, 1.58x at 128, 2.0-2.8x from 256 (bench/bf16_step.py).
BF16_MIN_WIDTH = 128


def gpu_has_native_bf16(device: torch.device) -> bool:
    """Whether this CUDA GPU multiplies bf16 in hardware: compute capability 8.0 (Ampere) or later."""
    major, _ = torch.cuda.get_device_capability(device)
    return major >= 8


def resolve_mixed_precision(mixed_precision: str, device: torch.device, model: Any = None) -> str:
    """"auto" is bf16 on GPUs that multiply it natively (compute capability 8.0 and up: A100,
    L4, H100…), fp16 with loss scaling on older ones (a Colab T4 is 7.5: there
    `torch.cuda.is_bf16_supported()` says yes, through slow emulation); bf16 on CPUs with native
    bf16 when the model is wide enough to gain from it; full precision elsewhere."""
    if mixed_precision not in MIXED_PRECISION:
        raise TrainingError(f"mixed_precision must be one of {', '.join(MIXED_PRECISION)}, got {mixed_precision!r}")
    if mixed_precision == "auto":
        if device.type == "cuda":
            return "bf16" if gpu_has_native_bf16(device) else "fp16"
        width = model_width(model)
        if device.type == "cpu" and cpu_has_native_bf16() and (width is None or width >= BF16_MIN_WIDTH):
            return "bf16"
        return "no"
    if mixed_precision == "fp16" and device.type == "cpu":
        raise TrainingError("mixed_precision='fp16' needs a GPU; on CPU use 'bf16' or 'no'")
    return mixed_precision


def make_accelerator(device: torch.device, mixed_precision: str, grad_accum: int) -> Any:
    """An `accelerate.Accelerator` for this device and precision.

    accelerate keeps one process-wide state; in a single process (a notebook making several
    learners) it is reset so that each learner gets the settings it asks for. Under a
    multi-process launch the launcher's state is kept.
    """
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, DistributedType, PartialState

    launched = bool(PartialState._shared_state) and PartialState().distributed_type != DistributedType.NO
    if not launched:
        AcceleratorState._reset_state(reset_partial_state=True)
        if device.type == "cuda" and device.index is not None:
            torch.cuda.set_device(device.index)
    else:
        # the process group stays; the precision and accumulation are this learner's own (a second
        # learner in a launched process may ask for others)
        AcceleratorState._reset_state(reset_partial_state=False)
        if not PartialState().is_main_process:  # the main process says each note once for all
            import warnings

            from .errors import KtnbWarning

            warnings.filterwarnings("ignore", category=KtnbWarning)
    return Accelerator(cpu=device.type == "cpu", mixed_precision=mixed_precision,
                       gradient_accumulation_steps=grad_accum)
