"""Run by tests/test_checkpoints.py, as a notebook kernel would be: train, or resume, a
checkpointed run on the tiny model, and write what came out (optimizer steps, accuracy, epochs)
to OUT as JSON.

    checkpointed_fit.py train CSV MODEL CHECKPOINT_DIR OUT [SLEEP]   # SLEEP: seconds per batch,
    checkpointed_fit.py resume CHECKPOINT_DIR OUT                    # so that a kill lands mid-epoch
    checkpointed_fit.py save-loop CHECKPOINT_DIR                     # rewrite the checkpoint forever
"""

import json
import sys
import time

import ktnb
from ktnb.checkpoints import save_checkpoint

mode = sys.argv[1]


def report(learner, out):
    with open(out, "w") as handle:
        json.dump({"steps": learner.steps_done, "epochs": learner.epochs_done,
                   "accuracy": learner.evaluate().accuracy, "history_steps": len(learner.history.steps)}, handle)


if mode == "train":
    csv, model, folder, out = sys.argv[2:6]
    pause = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
    slow = [lambda event: time.sleep(pause) if event.name == "batch_end" else None] if pause else []
    learner = ktnb.text_learner(csv, model, batch_size=16, progress=False, seed=0, checkpoint_dir=folder,
                                checkpoint_every=4, callbacks=slow)
    learner.fit(3e-3, 4)
    report(learner, out)
elif mode == "resume":
    folder, out = sys.argv[2:4]
    report(ktnb.resume(folder), out)
elif mode == "save-loop":
    learner = ktnb.load_learner(sys.argv[2])
    while True:
        save_checkpoint(learner, sys.argv[2])
