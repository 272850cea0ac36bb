"""Fixtures: a tiny BERT, a tiny Llama and tiny T5 and BART models saved like any Hugging Face
checkpoint, and data they can learn fast.

The hub is never reached in tests (HF_HUB_OFFLINE=1); the real-data tests read SST-2 from
../shared/data when it is there and are skipped otherwise.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

collect_ignore = ["scripts"]  # programs the tests start in subprocesses (torchrun), not test modules

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SST2 = SHARED_DATA / "sst2"

POSITIVE = ["good", "great", "wonderful", "superb", "moving", "funny"]
NEGATIVE = ["bad", "awful", "boring", "dull", "tedious", "mess"]
NEUTRAL = ["the", "film", "story", "a", "is", "was", "plot", "actors", "and", "it", "very", "quite", "this",
           "movie", "of", "with", "ending", "scenes", "music", "director"]


def one_line(error_type: type[BaseException], call) -> str:
    """The message of the error `call()` raises, asserted to be one line."""
    with pytest.raises(error_type) as info:
        call()
    message = str(info.value)
    assert "\n" not in message, message
    return message


def shell_with_session(name: str, learner, monkeypatch) -> tuple[object, list]:
    """The test session's IPython shell with ktnb loaded and `learner` in a session called
    `name`, and the list that what the magics show goes to."""
    from IPython.testing import globalipapp

    from ktnb.jupyter import magics
    from ktnb.workflow import Session

    shell = globalipapp.get_ipython()
    shell.run_line_magic("load_ext", "ktnb")
    shell.user_ns[name] = Session({}, learner.data, learner)
    shown: list = []
    monkeypatch.setattr(magics, "show", shown.append)
    return shell, shown


def sentiment_texts(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Sentences of 3 to 20 neutral words with one sentiment word; labels 'neg'/'pos'."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        positive = i % 2 == 0
        words = [rng.choice(NEUTRAL) for _ in range(rng.randint(3, 20))]
        words.insert(rng.randrange(len(words) + 1), rng.choice(POSITIVE if positive else NEGATIVE))
        texts.append(" ".join(words))
        labels.append("pos" if positive else "neg")
    return texts, labels


def _vocab() -> list[str]:
    words = POSITIVE + NEGATIVE + NEUTRAL
    if (SST2 / "train.csv").is_file():  # the most common SST-2 words, so the tiny model can read it too
        from collections import Counter

        counts = Counter((SST2 / "train.csv").read_text().lower().split())
        words += [w for w, _ in counts.most_common(3000) if w.isalpha()]
    letters = list("abcdefghijklmnopqrstuvwxyz0123456789.,'!?-<>&/()")
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    return list(dict.fromkeys(special + letters + ["##" + c for c in letters] + words))


def build_tiny_bert(folder: Path) -> Path:
    """A 2-layer, 32-wide BERT with random weights, saved with its tokenizer."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(_vocab()) + "\n")
    # BertTokenizerFast(vocab_file=...) ignores the file in transformers 5: load the folder instead
    tokenizer = BertTokenizerFast.from_pretrained(folder, do_lower_case=True, model_max_length=128)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


#: a chat template in the shape of SmolLM2's (ChatML), for the tiny language model's chat variant
CHAT_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                 "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def build_tiny_llama(folder: Path, chat: bool = False) -> Path:
    """A 2-layer, 32-wide Llama with random weights and a byte-level BPE tokenizer trained on
    the sentiment sentences (begin-of-text added, no padding token, as real causal LMs have);
    with `chat`, a ChatML template whose turns end with <|im_end|>, the end-of-text token."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    specials = ["<s>", "</s>", "<|im_start|>", "<|im_end|>"]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(sentiment_texts(400, seed=3)[0] + ["user", "assistant", "The answer is"], trainer)
    bpe.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 0)])
    eos = "<|im_end|>" if chat else "</s>"
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token=eos, model_max_length=128)
    if chat:
        tokenizer.chat_template = CHAT_TEMPLATE
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=128,
                         bos_token_id=0, eos_token_id=tokenizer.eos_token_id, tie_word_embeddings=True)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _byte_bpe(specials: list[str], single: str, texts: list[str]) -> Any:
    """A byte-level BPE tokenizer trained on `texts`, with `specials` first (ids 0, 1, …) and
    `single` ("$A </s>") as the template of one text."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(texts, trainer)
    used = [token for token in specials if token in single]
    bpe.post_processor = processors.TemplateProcessing(single=single,
                                                       special_tokens=[(t, specials.index(t)) for t in used])
    return bpe


def build_tiny_seq2seq(folder: Path, kind: str) -> Path:
    """A 2-layer, 32-wide encoder-decoder with random weights, "t5" or "bart", and a byte-level
    BPE tokenizer with the special tokens (and their ids) that model family has. No pretrained
    encoder-decoder can be had offline: these test the whole path as t5-small or bart-base
    would take it."""
    import torch
    from transformers import BartConfig, BartForConditionalGeneration, PreTrainedTokenizerFast, T5Config, \
        T5ForConditionalGeneration

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    texts = sentiment_texts(400, seed=3)[0] + ["translate English to French:", "summarize:"]
    if kind == "t5":
        bpe = _byte_bpe(["<pad>", "</s>", "<unk>"], "$A </s>", texts)
        tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, pad_token="<pad>", eos_token="</s>",
                                            unk_token="<unk>", model_max_length=128)
        model = T5ForConditionalGeneration(T5Config(
            vocab_size=len(tokenizer), d_model=32, d_ff=64, num_layers=2, num_heads=2, d_kv=16, pad_token_id=0,
            eos_token_id=1, decoder_start_token_id=0))
    else:
        bpe = _byte_bpe(["<s>", "<pad>", "</s>", "<unk>"], "<s> $A </s>", texts)
        tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", pad_token="<pad>",
                                            eos_token="</s>", unk_token="<unk>", model_max_length=128)
        model = BartForConditionalGeneration(BartConfig(
            vocab_size=len(tokenizer), d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2,
            decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=128,
            pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2, forced_eos_token_id=2))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_t5_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_seq2seq(tmp_path_factory.mktemp("tiny-t5"), "t5")


@pytest.fixture(scope="session")
def tiny_bart_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_seq2seq(tmp_path_factory.mktemp("tiny-bart"), "bart")


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_chat_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-chat-llama"), chat=True)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def sentiment_data():
    import ktnb

    texts, labels = sentiment_texts(480, seed=1)
    return ktnb.texts_from_array(texts, labels, val_frac=0.2, seed=0)


@pytest.fixture
def tiny_learner(tiny_model_dir, sentiment_data):
    import ktnb

    return ktnb.text_classifier(sentiment_data, str(tiny_model_dir), batch_size=16, progress=False, seed=0)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared real data sets (../shared/data)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("the shared data sets are not in ../shared/data")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sst2_dir() -> Path:
    if not (SST2 / "train.csv").is_file():
        pytest.skip("SST-2 sample not found in ../shared/data/sst2")
    return SST2
