"""Files and folders written atomically, and saved folders checked before they are trusted.

A save goes into ``.<name>.ktnb-partial`` beside the target and is then swapped into place in
one step (``renameat2(RENAME_EXCHANGE)`` on Linux), so a process killed at any moment leaves
the target as it was or as it is meant to be, never a mix. Where the swap is not available the
old folder is removed first, its ``ktnb.json`` last: a kill in between leaves a folder that a
load refuses (its listed files are missing) and the next save replaces. Either way the only
leftover is the clearly named partial folder, removed by the next save.

Each saved folder lists its files with their sizes and SHA-256 sums in ``ktnb.json``;
`verify_manifest` refuses a folder whose files do not match.

>>> import tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "model"
>>> with atomic_folder(target) as tmp:
...     _ = (tmp / "weights.bin").write_bytes(b"123")
...     write_manifest(tmp, {"task": "demo"})
>>> sorted(p.name for p in target.iterdir()), verify_manifest(target)["task"]
(['ktnb.json', 'weights.bin'], 'demo')
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator

from .errors import ModelError

MANIFEST = "ktnb.json"
PARTIAL_SUFFIX = ".ktnb-partial"
_CHUNK = 1 << 20


def partial_dir(target: Path) -> Path:
    """Where a save into `target` is written before it is swapped into place."""
    return target.parent / f".{target.name}{PARTIAL_SUFFIX}"


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2); False where that is unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _is_ktnb_folder(path: Path) -> bool:
    return (path / MANIFEST).is_file()


#: what a ktnb folder holds, by the `kind` its ktnb.json records (a saved predictor records none)
_KIND_NAMES = {"": "a saved predictor", "ktnb-checkpoint": "a training checkpoint (a run ktnb.resume carries on)"}


def saved_kind(folder: Path) -> str | None:
    """The `kind` a ktnb folder's ktnb.json records ("" for a saved predictor, which records
    none); None when the folder has no readable one."""
    try:
        meta = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    kind = meta.get("kind", "") if isinstance(meta, dict) else None
    return kind if isinstance(kind, str) else None


def check_save_target(path: Any, kind: str = "") -> Path:
    """The folder to save into, refused (one line) when it can't or shouldn't be replaced: no
    path, an existing file, the working directory, a folder of other files, or a folder ktnb
    saved as another `kind` (a predictor's save never replaces a training checkpoint, nor a
    checkpoint a predictor)."""
    if path is None or str(path).strip() == "":
        raise ModelError("save needs a folder path, e.g. save('my-model'); got an empty path")
    target = Path(path).expanduser()
    if target.is_file():
        raise ModelError(f"cannot save into {target}: it is a file; give a folder path")
    resolved = target.resolve()
    if resolved == Path.cwd().resolve() or resolved in Path.cwd().resolve().parents or resolved.parent == resolved:
        raise ModelError(f"cannot save into {target}: it is the working directory or above it; give a new folder")
    if target.is_dir() and any(target.iterdir()) and not _is_ktnb_folder(target):
        raise ModelError(f"cannot save into {target}: it holds other files and is not a folder ktnb saved; "
                         "choose a new folder, or empty it first")
    found = saved_kind(target) if _is_ktnb_folder(target) else None
    if found is not None and found != kind:
        raise ModelError(f"cannot save into {target}: it holds {_KIND_NAMES.get(found, 'another kind of ktnb folder')}, "
                         "which this save would replace; choose another folder, or delete that one first")
    return target


@contextlib.contextmanager
def atomic_folder(path: Any, kind: str = "") -> Iterator[Path]:
    """Yield an empty folder to write into; on success it replaces `path` in one step. On an
    error the target is untouched and the partial folder removed. `kind`: what is saved (see
    `check_save_target`)."""
    target = check_save_target(path, kind)
    tmp = partial_dir(target)
    try:
        if tmp.exists():  # left behind by a save that was killed
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        yield tmp
        if not target.exists():
            os.rename(tmp, target)
        elif _exchange(tmp, target):
            shutil.rmtree(tmp)  # now the previous version
        else:
            _remove_saved_folder(target)
            os.rename(tmp, target)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        reason = err.strerror or str(err)
        raise ModelError(f"could not save into {target}: {reason}; choose a folder you can write to") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _remove_saved_folder(folder: Path) -> None:
    """Remove a folder ktnb saved, its manifest last: cut short, it still reads as ktnb's (so
    the next save may replace it) and as incomplete (so no load trusts it)."""
    for entry in sorted(folder.iterdir()):
        if entry.name == MANIFEST:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            os.remove(entry)
    with contextlib.suppress(FileNotFoundError):
        os.remove(folder / MANIFEST)
    os.rmdir(folder)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write a text file through a temporary file in the same folder and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(folder: Path, meta: dict[str, Any], digests: bool = True) -> None:
    """Record every file of `folder` (size and SHA-256; the size only without `digests`) in
    ``ktnb.json`` along with `meta`."""
    files = {p.name: {"size": p.stat().st_size, **({"sha256": file_digest(p)} if digests else {})}
             for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST}
    (folder / MANIFEST).write_text(json.dumps({**meta, "files": files}, indent=2), encoding="utf-8")


def read_json(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from `path`; a damaged file is one line naming it."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelError(f"{path} is damaged ({type(err).__name__}): {what}") from None
    if not isinstance(value, dict):
        raise ModelError(f"{path} is damaged (not a JSON object): {what}")
    return value


def verify_manifest(folder: Path, fix: str | None = None) -> dict[str, Any]:
    """The metadata in ``folder/ktnb.json`` after checking that every file it lists is there,
    whole and unchanged. Folders saved before manifests existed pass with their metadata.
    `fix`: what the message tells the user to do (by default, what suits a saved predictor)."""
    fix = fix or "save the predictor again, or delete ktnb.json to load the folder as a plain Hugging Face model"
    meta = read_json(folder / MANIFEST, fix)
    files = meta.get("files", {})
    if not isinstance(files, dict):
        raise ModelError(f"{folder / MANIFEST} is damaged (its file list is not a mapping): {fix}")
    for name, expected in files.items():
        path = folder / name
        if not path.is_file():
            raise ModelError(f"{folder} is incomplete: {name} is missing (an interrupted save or copy?); {fix}")
        if not isinstance(expected, dict) or path.stat().st_size != expected.get("size") \
                or ("sha256" in expected and file_digest(path) != expected["sha256"]):
            raise ModelError(f"{path} is not the file that was saved with this folder (changed or cut short "
                             f"since); {fix}")
    return meta


def missing_folder_error(folder: Path) -> ModelError:
    """"not found", with a word on an interrupted save when its partial folder is there."""
    hint = " (a save into it was interrupted; save again)" if partial_dir(folder).exists() else ""
    return ModelError(f"model directory not found: {folder}{hint}")
