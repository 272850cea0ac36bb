"""TensorBoard logging as a callback: the event files a user opens with `tensorboard --logdir`,
read back with TensorBoard's own reader."""

from __future__ import annotations

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import ktnb


def test_the_event_files_hold_every_step_and_epoch_across_fits(tiny_model_dir, sentiment_data, tmp_path):
    board = ktnb.TensorBoard(tmp_path / "runs", run_name="sentiment")
    learner = ktnb.text_classifier(sentiment_data, str(tiny_model_dir), batch_size=16, progress=False, seed=0,
                                   callbacks=[board])
    learner.lr_find(epochs=2)  # the sweep is not a training curve: not written
    learner.fit(3e-3, 2)
    learner.fit(1e-3, 1)  # a second fit continues the same curves
    assert board.run_dir == tmp_path / "runs" / "sentiment"
    events = EventAccumulator(str(board.run_dir))
    events.Reload()
    losses = events.Scalars("train/loss")
    assert [e.step for e in losses] == [row["step"] for row in learner.history.steps]
    assert [e.value for e in losses] == pytest.approx([row["loss"] for row in learner.history.steps], rel=1e-5)
    assert len(events.Scalars("train/lr")) == len(losses)
    accuracy = events.Scalars("epoch/val_accuracy")
    assert [e.step for e in accuracy] == [1, 2, 3]
    assert [e.value for e in accuracy] == pytest.approx([row["val_accuracy"] for row in learner.history.epochs])
