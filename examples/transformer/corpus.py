"""The character-level corpus of the transformer example: text, vocabulary,
train/validation split and batches (see data/README.md)."""

import pathlib

import numpy as np

TEXT = pathlib.Path(__file__).resolve().parent / "data" / "kjv-genesis-exodus.txt"
TRAIN_FRACTION = 0.9


class Corpus:
    def __init__(self, path=TEXT):
        text = pathlib.Path(path).read_text(encoding="ascii")
        self.chars = sorted(set(text))
        self.index = {ch: i for i, ch in enumerate(self.chars)}
        ids = np.array([self.index[ch] for ch in text], np.int64)
        cut = int(len(ids) * TRAIN_FRACTION)
        self.train, self.valid = ids[:cut], ids[cut:]

    @property
    def vocab(self):
        return len(self.chars)

    def encode(self, s):
        unknown = sorted(set(s) - set(self.index))
        if unknown:
            raise ValueError(f"characters not in the vocabulary: {unknown!r}")
        return np.array([self.index[ch] for ch in s], np.int64)

    def decode(self, ids):
        return "".join(self.chars[i] for i in ids)

    def train_batches(self, batch, context, seed):
        """Endless (inputs, targets) int64 [batch, context] from the training
        part: random windows, drawn by one generator seeded with `seed`."""
        rng = np.random.default_rng(seed)
        while True:
            at = rng.integers(0, len(self.train) - context - 1, batch)
            w = np.stack([self.train[o:o + context + 1] for o in at])
            yield w[:, :-1], w[:, 1:]

    def valid_batches(self, batch, context, count):
        """The first `count` batches of non-overlapping validation windows."""
        need = count * batch * (context + 1)
        if need > len(self.valid):
            raise ValueError(f"{count} validation batches of {batch}x"
                             f"{context + 1} need {need} characters, the "
                             f"validation part has {len(self.valid)}")
        w = self.valid[:need].reshape(count, batch, context + 1)
        return [(b[:, :-1], b[:, 1:]) for b in w]


def one_hot(ids, vocab):
    """int [..., n] -> f32 [prod(...), vocab] rows: the model's input form."""
    flat = np.asarray(ids).reshape(-1)
    out = np.zeros((flat.size, vocab), np.float32)
    out[np.arange(flat.size), flat] = 1.0
    return out
