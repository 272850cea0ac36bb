"""From a notebook to a script, to many processes: `train` runs a ``%%ktrain`` config (a dict or
a YAML file) in every process of a launch, and `export_script` writes a notebook session's
settings as ``train.yaml`` beside a short ``train.py`` that runs unchanged with ``python``,
``torchrun`` or ``accelerate launch``, on one machine or several.

    ktnb.export_script(clf, "jobs/sst2/train.py")  # clf: a %%ktrain session (or a config dict)
    # shell: torchrun --nproc_per_node 2 jobs/sst2/train.py
    predictor = ktnb.load_predictor("jobs/sst2/sst2-model")  # back in the notebook

Every process reads the data and trains its share of each batch (`ktnb.Learner`: a batch is a
step's global batch); evaluation is shared too; the main process prints, saves the predictor and
writes the checkpoints. A process that dies ends the others within `process_timeout` seconds
(``KTNB_PROCESS_TIMEOUT``, default 600) rather than leaving them waiting.
"""

from __future__ import annotations

import math
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any, Mapping

from .errors import KtnbError

#: seconds a process waits for the others at a collective before the run fails (NCCL and gloo
#: wait 10 and 30 minutes by default)
DEFAULT_PROCESS_TIMEOUT = 600
#: config keys that name files, read relative to the YAML file's folder
PATH_KEYS = ("data", "val", "test", "model", "save", "checkpoint_dir")
#: keys a script leaves out: pictures and views are for the notebook
NOTEBOOK_ONLY = ("show", "attention")
#: tasks whose in-memory data a script can carry as a CSV table
TABLE_TASKS = ("classification", "regression", "multilabel")


def process_timeout() -> timedelta:
    """How long a process waits for the others (``KTNB_PROCESS_TIMEOUT`` seconds, else 600)."""
    raw = os.environ.get("KTNB_PROCESS_TIMEOUT", str(DEFAULT_PROCESS_TIMEOUT))
    try:
        seconds = float(raw)
    except ValueError:
        raise KtnbError(f"KTNB_PROCESS_TIMEOUT must be a number of seconds, got {raw!r}") from None
    return timedelta(seconds=max(seconds, 1.0))


def start_process_group(device: Any = "auto") -> Any:
    """accelerate's process state for this process, made first so that its process group has
    `process_timeout` (the learners' accelerators then join it); on CPUs, gloo's. In one process
    (no launcher) it is just the one process's state."""
    import torch
    from accelerate import PartialState

    cpu = str(device) == "cpu" or not torch.cuda.is_available()
    return PartialState(cpu=cpu, timeout=process_timeout())


def read_config(config: str | os.PathLike | Mapping[str, Any]) -> dict[str, Any]:
    """A config as a dict: a YAML file's (its relative paths made relative to its folder), or a
    dict as given."""
    if isinstance(config, Mapping):
        return dict(config)
    import yaml

    path = Path(config).expanduser()
    if not path.is_file():
        raise KtnbError(f"no config file at {path}; give the train.yaml that export_script wrote, or a dict")
    try:
        settings = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise KtnbError(f"{path} is not valid YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(settings, dict):
        raise KtnbError(f"{path} must hold key: value lines, like a %%ktrain cell")
    for key in PATH_KEYS:
        value = settings.get(key)
        if isinstance(value, str) and not Path(value).expanduser().is_absolute():
            beside = path.parent / value
            # a named data set ("sst2") stays a name; files and outputs are beside the config
            if key in ("save", "checkpoint_dir") or beside.exists():
                settings[key] = str(beside)
    return settings


def _plan_differences(plan: Mapping[str, Any], config: Mapping[str, Any], learner: Any) -> list[str]:
    """Where a checkpointed run's plan differs from what `config` asks of a new one."""
    differ = []
    epochs = learner.auto_epochs() if config["epochs"] == "auto" else config["epochs"]
    if config["early_stopping"]:
        rules = plan.get("autofit") or {}
        if rules.get("patience") != config["early_stopping"]:
            differ.append(f"early_stopping {rules.get('patience')}")
        epochs = max(epochs, 2)
    elif plan.get("autofit") is not None:
        differ.append("early_stopping")
    elif plan.get("schedule") != config["schedule"]:
        differ.append(f"schedule {plan.get('schedule')}")
    if plan.get("epochs") != epochs:
        differ.append(f"epochs {plan.get('epochs')}")
    if isinstance(config["lr"], (int, float)) and not math.isclose(float(plan.get("lr", 0.0)), float(config["lr"])):
        differ.append(f"lr {plan.get('lr')}")
    return differ


def carry_on_or_train(session: Any, before: str | None, say: Any) -> bool:
    """Train a session whose `checkpoint_dir` may hold a run already (`before`, as
    `checkpoints.prior_run` says): an unfinished run of the same job and plan goes on from its
    last checkpoint (a lost machine, a preemption); a finished one is replaced by the new run at
    its first checkpoint; another job's run is refused in one line. False when the user
    interrupted training (the rest of the workflow is skipped, and said so)."""
    from .checkpoints import other_job, recorded_run
    from .errors import TrainingError
    from .workflow import train_session

    learner, folder = session.learner, session.config.get("checkpoint_dir")
    if before is not None:
        problem = other_job(folder, learner)
        if problem:
            raise TrainingError(f"checkpoint_dir {folder} holds {problem}; choose another checkpoint_dir, or delete "
                                "that folder")
        meta = recorded_run(folder)
        if before == "unfinished":
            differ = _plan_differences(meta.get("plan") or {}, session.config, learner)
            if differ:
                raise TrainingError(f"checkpoint_dir {folder} holds an unfinished run of this job with "
                                    f"{', '.join(differ)}; carry it on with those settings (ktnb.resume), or delete "
                                    "the folder (or change checkpoint_dir) to start over")
            say("note", f"resuming the run checkpointed in {folder}")
            learner.resume(folder)
            return learner.stop_reason != "interrupted"
        learner.replaces_run = meta.get("run_id")
        say("note", f"a new run: its first checkpoint replaces the finished run's in {folder}")
    return train_session(session, say)


def train(config: str | os.PathLike | Mapping[str, Any], data: Any = None, *, progress: bool = True) -> Any:
    """Run a ``%%ktrain`` config's workflow (load, lr_find, fit, evaluate, predict, save) in this
    process, as one of the processes of a launch when there are several. Returns the `Session`.

    >>> session = ktnb.train("train.yaml")      # doctest: +SKIP
    """
    from .checkpoints import prior_run
    from .processes import from_main
    from .workflow import finish_session, read_workflow_data, start_session

    settings = read_config(config)
    # the process group, with a timeout: a peer that never arrives (or died) ends the run
    state = start_process_group(settings.get("device", "auto"))
    main = state.is_main_process
    if "MASTER_ADDR" in os.environ and "WORLD_SIZE" not in os.environ and "ACCELERATE_USE_CPU" in os.environ:
        import warnings

        from .errors import KtnbWarning

        warnings.warn("accelerate launch started one process: on CPUs its many-process launcher needs --multi_gpu "
                      "(accelerate launch --multi_gpu --num_processes N train.py), or use torchrun", KtnbWarning,
                      stacklevel=2)

    def say(step: str, result: Any) -> None:
        if not main:
            return
        if step == "report":
            print(result)
        elif step == "save":
            print(f"saved the predictor to {result}")
        elif step == "lr_find":
            print(f"lr_find suggests {result.suggestion:.2e}")
        elif step in ("interrupted", "note"):
            print(result)

    # what the checkpoint folder holds, as the main process sees it (the decision is one for all)
    folder = settings.get("checkpoint_dir")
    before = from_main(prior_run(folder) if folder and main else None)
    config, text_data = read_workflow_data(settings, data)
    session = start_session(config, text_data, progress=progress)
    if carry_on_or_train(session, before, say):
        finish_session(session, say)
    if main and session.config.get("checkpoint_dir"):
        print(f"checkpoints in {session.config['checkpoint_dir']}")
    state.wait_for_everyone()
    return session


class ProcessStopped(Exception):
    """The launcher stopped this process (SIGTERM): another process of the run ended."""


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    raise ProcessStopped("this process was stopped (SIGTERM): another process of the run ended, or the launcher "
                         "was stopped; the launcher's report says which")


def main(config: str | os.PathLike) -> None:
    """What an exported ``train.py`` runs: `train`, with a bad config, bad data, a lost process
    or a stop from the launcher (torchrun stops the others when one dies) said in one line on
    stderr (exit status 1), and the process group closed at the end."""
    import signal

    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        train(config)
    except (KtnbError, OSError, ProcessStopped) as err:
        print(f"ktnb: {str(err).splitlines()[0] if str(err) else type(err).__name__}", file=sys.stderr)
        raise SystemExit(1) from None
    except RuntimeError as err:  # a peer process that died: torch.distributed's errors are RuntimeErrors
        from .processes import peer_lost

        if peer_lost(err):
            print(f"ktnb: a process of this run failed or was lost ({type(err).__name__}: "
                  f"{str(err).splitlines()[0] if str(err) else ''})", file=sys.stderr)
            raise SystemExit(1) from None
        raise
    finally:
        _close_process_group()


def ray_train(config: str | os.PathLike | Mapping[str, Any], num_workers: int = 2, *, use_gpu: bool = False,
              storage_path: str | os.PathLike | None = None) -> Any:
    """Run `train(config)` in `num_workers` workers of Ray Train's ``TorchTrainer``, for those who
    already run a Ray cluster (``pip install "ktnb[ray]"``). Ray starts the processes and their
    process group, which accelerate joins; paths in a config file are made absolute first (Ray's
    workers run elsewhere), so on several machines they must be on shared storage. Returns Ray's
    ``Result``; the predictor and checkpoints are where the config says.

    >>> ktnb.script.ray_train("sst2/train.yaml", num_workers=4, use_gpu=True)   # doctest: +SKIP
    """
    try:
        from ray.train import RunConfig, ScalingConfig
        from ray.train.torch import TorchTrainer
    except ImportError:
        raise KtnbError('ray_train needs Ray Train: pip install "ktnb[ray]" (or "ray[train]")') from None
    from . import checks

    num_workers = checks.whole_number("num_workers", num_workers)
    settings = read_config(config)
    for key in PATH_KEYS:
        value = settings.get(key)
        if isinstance(value, str) and (key in ("save", "checkpoint_dir") or Path(value).expanduser().exists()):
            settings[key] = str(Path(value).expanduser().resolve())

    def each_worker(loop_config: dict[str, Any]) -> None:
        train(loop_config, progress=False)

    run_config = RunConfig(storage_path=str(Path(storage_path).expanduser().resolve())) if storage_path else None
    trainer = TorchTrainer(each_worker, train_loop_config=settings,
                           scaling_config=ScalingConfig(num_workers=num_workers, use_gpu=use_gpu),
                           run_config=run_config)
    return trainer.fit()


def _close_process_group() -> None:
    if "torch.distributed" in sys.modules:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


# ---------------------------------------------------------------------------- export


SCRIPT = '''"""{title}: written by ktnb.export_script; its settings are in {config}.

One process:       python {script}
N processes:       torchrun --nproc_per_node N {script}
                   accelerate launch --num_processes N {script}  (CPUs only: add --multi_gpu,
                   accelerate's name for its many-process launcher)
Several machines:  torchrun --nnodes M --node_rank R --master_addr HOST --master_port 29500 --nproc_per_node N {script}
                   accelerate launch --num_machines M --machine_rank R --main_process_ip HOST
                       --main_process_port 29500 --num_processes M*N --multi_gpu {script}
Back in the notebook: ktnb.load_predictor({save!r}) and ktnb.resume({checkpoints!r}){note}
"""
from pathlib import Path

import ktnb.script

if __name__ == "__main__":
    ktnb.script.main(Path(__file__).with_name({config!r}))
'''


def _table(part: Any, task: Any, class_names: list[str]) -> Any:
    import pandas as pd

    labels = task.raw_labels(part.labels, class_names)
    if task.name == "multilabel":
        labels = [";".join(names) for names in labels]
    columns = {"text": list(part.texts), "label": labels}
    if part.pairs is not None:
        columns["pair"] = list(part.pairs)
    return pd.DataFrame(columns)


def _data_files(config: dict[str, Any], text_data: Any, folder: Path, name: str) -> dict[str, Any]:
    """The config's data as the script reads it: a file path relative to the script's folder, a
    named data set as it is, in-memory data written as CSV tables beside the script."""
    from .storage import write_text_atomic

    in_memory = any(config.get(key) is not None and not isinstance(config[key], (str, os.PathLike))
                    for key in ("data", "val", "test"))
    if not in_memory:
        return {key: _relative(config[key], folder) for key in ("data", "val", "test")
                if isinstance(config.get(key), (str, os.PathLike)) and Path(config[key]).expanduser().exists()}
    if text_data is None:
        raise KtnbError("export_script needs the session's data: pass a %%ktrain session, or a config whose data: "
                        "is a file path")
    if text_data.task not in TABLE_TASKS:
        raise KtnbError(f"a {text_data.task} session's in-memory data can't be written as a table; save it to a file "
                        "(a CoNLL, SQuAD or CSV file) and name it in data:")
    from .tasks import get_task

    task = get_task(text_data.task)
    changed: dict[str, Any] = {"text_col": "text", "label_col": "label",
                               "pair_col": "pair" if text_data.train.pairs is not None else None}
    for key, part in (("data", text_data.train), ("val", text_data.val), ("test", text_data.test)):
        if part is None or len(part) == 0:
            changed[key] = None
            continue
        file = folder / f"{name}-{'train' if key == 'data' else key}.csv"
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(file, _table(part, task, list(text_data.class_names)).to_csv(index=False))
        changed[key] = file.name
    if text_data.task in ("classification", "multilabel"):
        changed["class_names"] = list(text_data.class_names)  # the labels, in the order the session had them
    # the tables are what the session trained on, written as comma-separated UTF-8
    changed.update(max_train=None, sep=None, encoding="utf-8")
    return changed


def _relative(path: str | os.PathLike, folder: Path) -> str:
    """`path` as the script finds it from its own folder (absolute when no relative path leads
    there, another drive on Windows)."""
    absolute = Path(path).expanduser().resolve()
    try:
        return os.path.relpath(absolute, folder.resolve())
    except ValueError:
        return str(absolute)


def _plain(value: Any) -> Any:
    """A config value as YAML writes it: tuples (text pairs) as lists, numpy numbers as numbers."""
    from . import checks

    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return checks.plain(value)


def export_script(session_or_config: Any, path: str | os.PathLike = "train.py", *, name: str | None = None) -> Path:
    """Write a notebook session's settings (a ``%%ktrain`` `Session`, or a config dict) as a YAML
    file beside a short `path` (``train.py``) that runs them with ``python``, ``torchrun`` or
    ``accelerate launch`` (the commands are in its docstring). In-memory data (a DataFrame, texts
    and labels) is written beside it as CSV. The script saves the predictor to ``<name>-model``
    and checkpoints to ``runs/<name>`` unless the config names them; `ktnb.load_predictor` and
    `ktnb.resume` read both back in a notebook. Returns the script's path.

    >>> ktnb.export_script(clf, "jobs/sst2/train.py")    # doctest: +SKIP
    PosixPath('jobs/sst2/train.py')
    """
    import yaml

    from .config import CONFIG_KEYS, check_config
    from .storage import write_text_atomic

    session = None if isinstance(session_or_config, Mapping) else session_or_config
    if session is not None and not hasattr(session, "config"):
        raise KtnbError(f"export_script takes a %%ktrain session or a config dict, not a "
                        f"{type(session_or_config).__name__}")
    config = dict(session.config if session is not None else check_config(session_or_config))
    script = Path(path).expanduser()
    if script.suffix != ".py":
        raise KtnbError(f"the script's path must end in .py, got {str(path)!r}")
    folder = script.parent
    name = name or (script.parent.name if script.stem == "train" and script.parent.name else script.stem)
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in name) or "run"
    for key in ("save", "checkpoint_dir"):  # folders that a run replaces whole: the script can't live there
        target = config.get(key)
        if target and (folder.resolve() == Path(target).expanduser().resolve()
                       or Path(target).expanduser().resolve() in folder.resolve().parents):
            raise KtnbError(f"the script would be written inside {key} {str(target)!r}, which a run replaces whole; "
                            "export it to another folder")
    files = _data_files(config, session.data if session is not None else None, folder, name)
    tables = "text_col" in files  # in-memory data, written as tables
    config.update(files)
    if isinstance(config.get("model"), (str, os.PathLike)) and Path(config["model"]).expanduser().exists():
        config["model"] = _relative(config["model"], folder)  # a local model folder, found from the script's
    folder.mkdir(parents=True, exist_ok=True)
    # where the notebook saved, kept (relative to the script's folder); else beside the script
    config["save"] = _relative(config["save"], folder) if config.get("save") else f"{name}-model"
    config["checkpoint_dir"] = _relative(config["checkpoint_dir"], folder) if config.get("checkpoint_dir") \
        else f"runs/{name}"
    kept = {key: _plain(value) for key, value in config.items()
            if key in CONFIG_KEYS and key not in NOTEBOOK_ONLY and value != CONFIG_KEYS[key][0]}
    if session is not None and config.get("lr") == "find" and session.lr_finder is not None:
        kept["lr"] = float(session.lr_finder.suggestion)  # the rate the notebook found, not another sweep
    config_file = script.with_suffix(".yaml")
    text = yaml.safe_dump(kept, sort_keys=False, allow_unicode=True)
    write_text_atomic(config_file, f"# {name}: read by {script.name} (ktnb.script.train)\n{text}")
    note = "\n(In-memory data was written beside this script as CSV.)" if tables else ""
    from_here = {key: _relative(folder / kept[key], Path.cwd()) for key in ("save", "checkpoint_dir")}
    write_text_atomic(script, SCRIPT.format(title=name, config=config_file.name, script=script.name,
                                            save=from_here["save"], checkpoints=from_here["checkpoint_dir"],
                                            note=note))
    return script


__all__ = ["train", "main", "export_script", "ray_train", "read_config", "process_timeout", "start_process_group"]
