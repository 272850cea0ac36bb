"""What makes a CPU training step cheaper changes no result: the kept word-embedding gradient is
the dense gradient, and the cheaper dropout masks drop at the model's rate and keep the
expectation."""

from __future__ import annotations

import copy

import pytest
import torch

import ktnb
import ktnb.learner as learner_module
from ktnb.dropout import CheapDropout, keep_mask, use_cheap_dropout
from ktnb.embedding_grads import keep_embedding_grad
from ktnb.models import load_for_task

CPU = torch.device("cpu")


def two_models(tiny_model_dir):
    model = load_for_task(str(tiny_model_dir), ktnb.get_task("classification"), ["neg", "pos"]).eval()
    return model, copy.deepcopy(model)  # eval: no dropout, so the two see the same computation


def backward(model, ids):
    model(input_ids=ids, labels=torch.tensor([0, 1])).loss.backward()


def grads(model):
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


def test_the_kept_embedding_gradient_is_the_dense_gradient(tiny_model_dir):
    kept_model, dense_model = two_models(tiny_model_dir)
    assert keep_embedding_grad(kept_model, CPU) is not None
    first = torch.tensor([[2, 40, 41, 40, 3], [2, 50, 3, 0, 0]])  # a repeated token and padding
    second = torch.tensor([[2, 60, 61, 62, 3], [2, 40, 60, 3, 0]])
    for batches in ([first], [first, second]):  # one step, then two batches accumulated
        for model in (kept_model, dense_model):
            model.zero_grad(set_to_none=True)
            for ids in batches:
                backward(model, ids)
        kept, dense = grads(kept_model), grads(dense_model)
        assert kept.keys() == dense.keys()
        for name in dense:
            assert kept[name].layout == torch.strided
            torch.testing.assert_close(kept[name], dense[name], rtol=0, atol=1e-6, msg=name)
    table = kept_model.get_input_embeddings().weight.grad
    assert table[0].abs().sum() == 0 and table[40].abs().sum() > 0  # padding row untouched, as dense


def test_keep_embedding_grad_only_where_it_pays(tiny_model_dir):
    model, _ = two_models(tiny_model_dir)
    assert keep_embedding_grad(model, torch.device("cuda")) is None
    assert keep_embedding_grad(model, CPU, processes=2) is None
    assert keep_embedding_grad(model, CPU) is keep_embedding_grad(model, CPU)  # one buffer per table
    keep_embedding_grad(model, CPU).remove()
    assert model.get_input_embeddings().sparse is False


def test_a_fit_gives_the_same_weights_with_or_without_the_kept_gradient(tiny_model_dir, sentiment_data,
                                                                          monkeypatch):
    def fitted():
        learner = ktnb.text_classifier(sentiment_data, str(tiny_model_dir), batch_size=16, progress=False, seed=3,
                                       weight_decay=0.01)
        learner.fit(1e-3, 1)
        return learner

    kept = fitted()
    assert kept.model.get_input_embeddings().sparse is True
    monkeypatch.setattr(learner_module, "keep_embedding_grad", lambda *args: None)
    dense = fitted()
    assert dense.model.get_input_embeddings().sparse is False
    for name, value in dense.model.state_dict().items():
        torch.testing.assert_close(kept.model.state_dict()[name], value, rtol=0, atol=1e-6, msg=name)
    assert kept.history["loss"] == pytest.approx(dense.history["loss"], abs=1e-6)


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5])
def test_cheap_dropout_drops_at_the_rate_and_keeps_the_mean(p):
    torch.manual_seed(0)
    x = torch.ones(400_000, requires_grad=True)
    out = CheapDropout(p)(x)
    kept = out != 0
    assert abs(kept.float().mean().item() - (1 - p)) < 0.003
    assert abs(out.mean().item() - 1) < 0.01  # kept values scaled up by 1 / the keep share
    out.sum().backward()
    assert torch.equal(x.grad, out.detach())  # d(out)/dx is the mask times the scale


def test_cheap_dropout_masks_follow_the_seed_and_leave_the_rest_to_torch():
    torch.manual_seed(5)
    first, _ = keep_mask(torch.Size([7, 9]), 0.1, CPU)
    torch.manual_seed(5)
    again, scale = keep_mask(torch.Size([7, 9]), 0.1, CPU)
    assert torch.equal(first, again) and scale == pytest.approx(65536 / (65536 - 6554))
    x = torch.randn(4, 8, dtype=torch.bfloat16)
    assert CheapDropout(0.2)(x).dtype == torch.bfloat16
    assert torch.equal(CheapDropout(0.2).eval()(x), x)
    assert torch.equal(CheapDropout(1.0)(x), torch.zeros_like(x)) and torch.equal(CheapDropout(0.0)(x), x)


def test_training_on_a_cpu_uses_both(tiny_model_dir, sentiment_data):
    learner = ktnb.text_classifier(sentiment_data, str(tiny_model_dir), batch_size=16, progress=False)
    learner.fit(1e-3, 1)
    dropouts = [m for m in learner.model.modules() if isinstance(m, torch.nn.Dropout)]
    assert dropouts and all(type(m) is CheapDropout for m in dropouts)
    model, _ = two_models(tiny_model_dir)
    assert use_cheap_dropout(model, torch.device("cuda")) == 0
    assert use_cheap_dropout(model, CPU) == len([m for m in model.modules() if isinstance(m, torch.nn.Dropout)])
