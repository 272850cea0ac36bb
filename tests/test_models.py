"""Finding checkpoints: the offline default, local folders, hub names, and clear errors."""

from __future__ import annotations

import pytest

import ktnb
from ktnb.models import DEFAULT_MODEL, offline_default_dir, resolve_checkpoint


def test_default_is_the_offline_minilm_when_installed():
    local = offline_default_dir()
    if local is None:
        assert resolve_checkpoint(None) == DEFAULT_MODEL
    else:
        assert resolve_checkpoint(None) == str(local) == resolve_checkpoint("default")
        assert (local / "model.safetensors").is_file()


def test_hub_names_pass_through_and_paths_are_checked(tmp_path):
    assert resolve_checkpoint("bert-base-uncased") == "bert-base-uncased"
    assert resolve_checkpoint("org/model") == "org/model"
    with pytest.raises(ktnb.ModelError, match="model directory not found: .*missing"):
        resolve_checkpoint(str(tmp_path / "missing"))
    with pytest.raises(ktnb.ModelError, match="model directory not found"):
        resolve_checkpoint("./models/sentiment")


def test_model_directory_without_weights(tmp_path, tiny_model_dir):
    (tmp_path / "config.json").write_text((tiny_model_dir / "config.json").read_text())
    with pytest.raises(ktnb.ModelError, match="has no weights \\(model.safetensors or pytorch_model.bin\\)"):
        resolve_checkpoint(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ktnb.ModelError, match="has no config.json"):
        resolve_checkpoint(empty)


def test_unreachable_hub_model_says_to_pass_a_directory(sentiment_data):
    with pytest.raises(ktnb.ModelError, match="could not load 'no-such-org/no-such-model' from the Hugging Face hub"):
        ktnb.text_classifier(sentiment_data, "no-such-org/no-such-model")


def test_class_names_go_into_the_model_config(tiny_learner):
    config = tiny_learner.model.config
    assert config.id2label == {0: "neg", 1: "pos"} and config.label2id == {"neg": 0, "pos": 1}
