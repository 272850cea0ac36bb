"""A saved predictor to and from the Hugging Face hub: `Predictor.push_to_hub` uploads the
folder `Predictor.save` writes (created as a model repository when missing), and
`load_predictor("you/name")` downloads one when no such local folder exists.

>>> looks_like_repo_id("you/sst2-minilm"), looks_like_repo_id("./saved"), looks_like_repo_id("a/b/c")
(True, False, False)
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any, Callable

from .errors import ModelError

_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


def looks_like_repo_id(name: Any) -> bool:
    """"owner/name" as the hub spells a repository (not a relative path like ./x or a/b/c)."""
    return isinstance(name, str) and bool(_REPO_ID.match(name)) and ".." not in name


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:200]}" if text else type(err).__name__


def push_folder(save: Callable[[Path], Path], repo_id: str, *, private: bool | None = None, token: str | None = None,
                commit_message: str = "Upload a ktnb predictor") -> str:
    """Save with `save(folder)` into a temporary folder and upload it whole to the model
    repository `repo_id` (created when missing); the repository's URL."""
    if not looks_like_repo_id(repo_id):
        raise ModelError(f"repo_id must be 'owner/name' as on the hub (e.g. 'you/sst2-minilm'), got {repo_id!r}")
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    with tempfile.TemporaryDirectory(prefix="ktnb-push-") as tmp:
        folder = save(Path(tmp) / "predictor")
        try:
            url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
            api.upload_folder(repo_id=repo_id, folder_path=str(folder), commit_message=commit_message,
                              repo_type="model")
        except Exception as err:  # no network, not logged in, no write access: one line, what to do
            raise ModelError(f"could not push to the hub repository {repo_id} ({_first_line(err)}); log in with "
                             "`hf auth login` (or pass token=), and check that you may write to it") from None
    return str(url)


def download_folder(repo_id: str, revision: str | None = None) -> Path:
    """The local copy of the hub's model repository `repo_id` (downloaded into the hub cache)."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, revision=revision, repo_type="model"))
    except Exception as err:
        raise ModelError(f"model directory not found: {repo_id}, and it could not be downloaded from the hub "
                         f"({_first_line(err)})") from None


__all__ = ["push_folder", "download_folder", "looks_like_repo_id"]
