"""Run by tests/test_distributed.py under `torchrun --nproc_per_node 2`: the unchanged learner
trains data-parallel (gloo on CPU); each process writes what it saw to <out>/rank<N>.json
(files, not stdout: two processes printing at once can share a line)."""

import json
import sys

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))

import torch.distributed as dist  # noqa: E402

import ktnb  # noqa: E402
from conftest import sentiment_texts  # noqa: E402

texts, labels = sentiment_texts(480, seed=1)
data = ktnb.texts_from_array(texts, labels, val_frac=0.2, seed=0)
learner = ktnb.text_classifier(data, sys.argv[1], batch_size=8, progress=False, seed=0)
batches = []
learner.fit(3e-3, 4, callbacks=[lambda e: e.name == "batch_end" and batches.append(e.batch)])
first_param = next(learner.model.parameters()).detach().flatten()[:4].tolist()
lm_param = None
if len(sys.argv) > 3:  # a language model on prompt/response pairs of different lengths, with accumulation
    pairs = ktnb.get_task("generation").load_data((texts[:64], texts[64:128]), val_frac=0)
    lm = ktnb.text_learner(pairs, sys.argv[3], batch_size=4, grad_accum=2, progress=False, seed=0)
    lm.fit(1e-3, 1)
    lm_param = lm.model.model.layers[0].mlp.down_proj.weight.detach().flatten()[:4].tolist()
report = json.dumps({
    "lm_param": lm_param,
    "rank": learner.accelerator.process_index,
    "world": learner.accelerator.num_processes,
    "distributed": learner.accelerator.distributed_type.value,
    "batches_per_epoch": len(learner._train_dl),
    "batches_seen": len(batches),
    "accuracy": learner.evaluate().accuracy,
    "param": first_param,
})
(__import__("pathlib").Path(sys.argv[2]) / f"rank{learner.accelerator.process_index}.json").write_text(report)
dist.barrier()
