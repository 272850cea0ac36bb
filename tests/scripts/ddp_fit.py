"""Run by tests/test_distributed.py under `torchrun --nproc_per_node 2`: the unchanged learner
trains data-parallel (gloo on CPU); each process writes what it saw to <out>/rank<N>.json
(files, not stdout: two processes printing at once can share a line).

Arguments: the tiny classifier's folder, the output folder, the tiny language model's folder, the
tiny T5's folder."""

import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch.distributed as dist  # noqa: E402

import ktnb  # noqa: E402
from conftest import sentiment_texts  # noqa: E402

out = Path(sys.argv[2])
texts, labels = sentiment_texts(480, seed=1)
data = ktnb.texts_from_array(texts, labels, val_frac=0.2, seed=0)
# progress on: the main process alone draws it; checkpoints every 20 steps, written by the main process
learner = ktnb.text_classifier(data, sys.argv[1], batch_size=8, progress=True, seed=0,
                               checkpoint_dir=out / "run", checkpoint_every=20)
rank = learner.accelerator.process_index
batches = []


def keep_mid_run_checkpoint(event):
    """A copy of the checkpoint written at step 60 (epoch 2, batch 12), for a resume in one process."""
    if event.name == "batch_end" and event.step == 60 and rank == 0:
        shutil.copytree(out / "run", out / "mid")


keep_mid_run_checkpoint.order = 95  # after the checkpointer (90) wrote it
learner.fit(3e-3, 4, callbacks=[lambda e: e.name == "batch_end" and batches.append(e.batch),
                                keep_mid_run_checkpoint])
first_param = next(learner.model.parameters()).detach().flatten()[:4].tolist()


def evaluated_in_shards(learner):
    """The learner's evaluation summary, and how many examples this process's model ran on."""
    seen, outputs = [], learner.task.outputs
    learner.task.outputs = lambda run, examples: (seen.append(examples.n_examples), outputs(run, examples))[1]
    report = learner.evaluate()
    del learner.task.outputs
    return report.summary(), seen


summary, seen = evaluated_in_shards(learner)
accuracy = summary["val_accuracy"]
losses = [step["loss"] for step in learner.history.steps]


def stop_in_one_process(event):
    """Only process 1 asks to stop, at batch 5: every process must stop at the same batch."""
    if event.name == "batch_end" and event.batch == 4 and rank == 1:
        event.learner.request_stop()


steps_before = len(learner.history.steps)
learner.fit(1e-4, 1, callbacks=[stop_in_one_process])
stopped_after, stop_reason = len(learner.history.steps) - steps_before, learner.stop_reason
# an lr sweep that diverges: the same rates and the same end in every process (no hang)
sweep = learner.lr_find(end_lr=1e3, max_batches=40)

# untrained models of two other tasks, evaluated in shards: questions over several windows, a translator
from test_seq2seq import reversed_pairs  # noqa: E402
from test_sharded_evaluation import long_questions  # noqa: E402

if rank == 0:
    long_questions(30, 2, out / "dev.json")
dist.barrier()
qa_data = ktnb.get_task("qa", stride=16).load_data(out / "dev.json", out / "dev.json")
qa = ktnb.text_learner(qa_data, sys.argv[1], batch_size=16, max_len=48, progress=False, seed=0)
qa_summary, qa_seen = evaluated_in_shards(qa)
sources, targets = reversed_pairs(40)
translator = ktnb.text_learner(ktnb.get_task("translation").load_data((sources, targets), val_frac=0.5, seed=0),
                               sys.argv[4], batch_size=8, progress=False, seed=0)
translation_summary, translation_seen = evaluated_in_shards(translator)

# a language model on prompt/response pairs of different lengths, with accumulation
pairs = ktnb.get_task("generation").load_data((texts[:64], texts[64:128]), val_frac=0)
lm = ktnb.text_learner(pairs, sys.argv[3], batch_size=4, grad_accum=2, progress=False, seed=0)
lm.fit(1e-3, 1)
lm_param = lm.model.model.layers[0].mlp.down_proj.weight.detach().flatten()[:4].tolist()
report = json.dumps({
    "lm_param": lm_param,
    "rank": rank,
    "world": learner.accelerator.num_processes,
    "distributed": learner.accelerator.distributed_type.value,
    "batches_per_epoch": len(learner._train_dl),
    "batches_seen": len(batches),
    "accuracy": accuracy,
    "summary": summary,
    "seen": seen,
    "val_examples": learner.val_ds.n_examples,
    "qa": [qa_summary, qa_seen, qa.val_ds.n_examples],
    "translation": [translation_summary, translation_seen, translator.val_ds.n_examples],
    "param": first_param,
    "losses": losses,
    "stop_reason": stop_reason,
    "stopped_after": stopped_after,
    "sweep_lrs": sweep.lrs,
    "sweep_diverged": sweep.diverged,
})
(out / f"rank{rank}.json").write_text(report)
dist.barrier()
