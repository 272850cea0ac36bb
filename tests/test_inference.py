"""The runner a task evaluates and predicts with: forward passes in batches sorted by length, the
outputs a task keeps, `generate` with left padding, and the task hook every path goes through."""

from __future__ import annotations

import numpy as np
import torch

from ktnb.batching import EncodedTexts
from ktnb.inference import Outputs, Runner
from ktnb.tasks.classification import Classification


def _rows(lengths, vocab=50, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(5, vocab, size=n).tolist() for n in lengths]


def test_forward_runs_every_row_once_longest_first_and_keeps_the_model_as_it_was(tiny_learner):
    model = tiny_learner.model
    model.train()
    examples = EncodedTexts(_rows([3, 9, 5, 12, 7]), labels=[0, 1, 0, 1, 1])
    batches = list(Runner(model, pad_id=0, batch_size=2).forward(examples))
    assert [b.index for b in batches] == [[3, 1], [4, 2], [0]]
    assert all(set(b.outputs) == {"logits"} and b.outputs["logits"].dtype == np.float32 for b in batches)
    assert all(b.loss is not None and b.inputs["labels"].tolist() == [[0, 1, 0, 1, 1][i] for i in b.index]
               for b in batches)
    assert model.training  # put back in training mode
    assert list(Runner(model, 0, 2).forward(examples.without_labels()))[0].loss is None
    assert [list(b.outputs) for b in Runner(model, 0, 8).forward(examples, keep=())] == [[]]


def test_a_task_reduces_the_runners_batches_and_every_path_asks_it(tiny_learner, monkeypatch):
    """evaluate, top_losses and predict all go through `task.outputs`: a task that reduces its
    outputs its own way (here: counting the batches it saw) is heard everywhere."""
    seen = []
    default = Classification.outputs

    def counting(self, runner, examples):
        outputs = default(self, runner, examples)
        seen.append(len(examples))
        return outputs

    monkeypatch.setattr(Classification, "outputs", counting)
    report = tiny_learner.evaluate()
    n_val = len(tiny_learner.data.val)
    assert report.summary()["val_accuracy"] >= 0 and seen == [n_val]
    assert len(tiny_learner.top_losses(3)) == 3 and seen == [n_val, n_val]
    assert tiny_learner.predictor().predict(["a", "b c"]) and seen[-1] == 2


def test_the_default_outputs_match_one_example_at_a_time(tiny_learner):
    examples = tiny_learner.val_ds
    together = tiny_learner.task.outputs(Runner(tiny_learner.model, 0, 16), examples)
    alone = [tiny_learner.task.outputs(Runner(tiny_learner.model, 0, 1), EncodedTexts([ids], [label]))
             for ids, label in zip(examples.input_ids[:6], examples.labels[:6])]
    assert isinstance(together, Outputs) and together.logits.shape == (len(examples), 2)
    np.testing.assert_allclose(together.logits[:6], np.concatenate([a.logits for a in alone]), atol=1e-5)


def test_generate_pads_on_the_left_and_writes_what_each_prompt_writes_alone():
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=64, n_positions=64, n_embd=32, n_layer=2, n_head=2,
                                       bos_token_id=1, eos_token_id=2))
    prompts = EncodedTexts(_rows([4, 9, 6], vocab=64, seed=1))
    settings = {"max_new_tokens": 5, "do_sample": False}
    batched = {}
    for index, written in Runner(model, pad_id=0, batch_size=3).generate(prompts, **settings):
        batched.update(zip(index, written))
    for i, prompt in enumerate(prompts.input_ids):
        (_, [alone]), = Runner(model, pad_id=0, batch_size=1).generate(EncodedTexts([prompt]), **settings)
        assert batched[i] == alone and len(alone) == 5
