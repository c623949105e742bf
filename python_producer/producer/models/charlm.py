"""A character-level LSTM language model that continues a prefix (shared/seeds/001_*.txt).

The Go notebook article's game, "given a prefix sentence, generate the next words", played
inside the graph so that every language produces the same text: the ``generate`` signature
decodes greedily (argmax, no sampling) in a ``tf.while_loop``, so Python, Go and Java only
feed a prefix and a length and read back a string.

Corpus: the English reference text that ships with CPython (``pydoc_data.topics``, the help
topics of the language reference), available offline.  Vocabulary: the 128 ASCII code points;
any other character is read as ``?``.  Model: embedding (32) -> one LSTM layer (``hidden``
units, forget-gate bias +1) -> dense softmax over 128 characters.  Training: truncated windows
of ``window`` characters from a zero state, Adam, gradient norm clipped at 5; the last 10% of
the corpus is held out and its loss (bits per character) is logged each epoch.

Signatures:

- ``generate``: inputs ``prefix`` string ``[-1]`` (UTF-8) and ``length`` int32 scalar (the
  number of characters to generate, 0 or more); output ``continuation`` string ``[-1]`` (ASCII).
- ``serving_default``: input ``prefix`` string ``[-1]``; outputs ``next_char_probabilities``
  float32 ``[-1, 128]`` (the distribution of the character after each prefix) and
  ``next_char`` string ``[-1]`` (its argmax).

Every prefix is read after an implicit ``"\\n"`` (training windows start at arbitrary places,
so a fresh state is best started on a line break), and so is the empty prefix.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from python_producer import tf_runtime
from python_producer.producer.export import VERSION_DIR, CommandRunner, ExportWriter

VOCAB = 128
UNKNOWN = ord("?")


@dataclass(frozen=True)
class CharLMConfig:
    """Corpus and training settings (``corpus_chars`` counts characters of the corpus used)."""

    corpus_chars: int = 400_000
    embedding: int = 32
    hidden: int = 256
    window: int = 64
    batch_size: int = 64
    epochs: int = 20
    learning_rate: float = 0.004
    clip_norm: float = 5.0
    seed: int = 42


def load_corpus(config: CharLMConfig) -> np.ndarray:
    """Return the corpus as int32 ids ``[n]``: ASCII code points, others mapped to ``?``.

    The text is ``pydoc_data.topics.topics`` joined in sorted key order, whitespace runs of
    more than two newlines collapsed, cut to ``config.corpus_chars`` characters.
    """
    import re
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[key].strip() for key in sorted(topics))
    text = re.sub(r"\n{3,}", "\n\n", text)[: config.corpus_chars]
    ids = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    return np.where(ids < VOCAB, ids, UNKNOWN).astype(np.int32)


def build_module(config: CharLMConfig):
    """Return a ``tf.Module`` with the LSTM's float32 variables and both signatures."""
    tf = tf_runtime.tf()
    glorot = tf.keras.initializers.GlorotUniform
    hidden = config.hidden

    class CharLM(tf.Module):
        """Character LSTM; see the module docstring for the signatures."""

        def __init__(self):
            super().__init__(name="charlm")
            s = config.seed
            self.embedding = tf.Variable(
                tf.keras.initializers.RandomNormal(stddev=0.1, seed=s)([VOCAB, config.embedding]),
                name="embedding",
            )
            self.kernel = tf.Variable(
                glorot(seed=s + 1)([config.embedding + hidden, 4 * hidden]), name="lstm_kernel"
            )
            self.bias = tf.Variable(tf.zeros([4 * hidden]), name="lstm_bias")
            self.output_kernel = tf.Variable(glorot(seed=s + 2)([hidden, VOCAB]), name="output")
            self.output_bias = tf.Variable(tf.zeros([VOCAB]), name="output_bias")
            # One single-byte string per id, for turning ids back into text in the graph.
            self.chars = tf.constant([bytes([i]) for i in range(VOCAB)])

        def weights(self):
            """Read every variable once, so loop bodies capture tensors, not resources.

            (A loop body that reads a variable cannot be frozen: the frozen constant lands
            outside the loop.)
            """
            return tuple(
                tf.identity(v)
                for v in (
                    self.embedding,
                    self.kernel,
                    self.bias,
                    self.output_kernel,
                    self.output_bias,
                )
            )

        @staticmethod
        def cell(weights, ids, h, c):
            """One LSTM step: ids int32 ``[b]``, state float32 ``[b, hidden]`` each."""
            embedding, kernel, bias = weights[:3]
            x = tf.gather(embedding, ids)
            z = tf.matmul(tf.concat([x, h], axis=1), kernel) + bias
            i, f, g, o = tf.split(z, 4, axis=1)
            c = tf.sigmoid(f + 1.0) * c + tf.sigmoid(i) * tf.tanh(g)
            return tf.sigmoid(o) * tf.tanh(c), c

        @staticmethod
        def logits(weights, h):
            """Next-character logits float32 ``[b, 128]`` from the hidden state."""
            return tf.matmul(h, weights[3]) + weights[4]

        def read(self, weights, prefix):
            """Run the LSTM over ``"\\n" + prefix``; return the final ``(h, c)``."""
            codes = tf.strings.unicode_decode(
                tf.strings.join(["\n", prefix]),
                "UTF-8",
                errors="replace",
                replacement_char=UNKNOWN,
            )
            lengths = tf.cast(codes.row_lengths(), tf.int32)
            ids = tf.where(codes.to_tensor(0) < VOCAB, codes.to_tensor(0), UNKNOWN)
            batch = tf.shape(prefix)[0]
            zeros = tf.zeros([batch, hidden])

            def body(t, h, c):
                h2, c2 = self.cell(weights, ids[:, t], h, c)
                live = (t < lengths)[:, None]
                return t + 1, tf.where(live, h2, h), tf.where(live, c2, c)

            _, h, c = tf.while_loop(
                lambda t, h, c: t < tf.shape(ids)[1], body, (tf.constant(0), zeros, zeros)
            )
            return h, c

        @tf.function(
            input_signature=[
                tf.TensorSpec([None], tf.string, name="prefix"),
                tf.TensorSpec([], tf.int32, name="length"),
            ]
        )
        def generate(self, prefix, length):
            weights = self.weights()
            h, c = self.read(weights, prefix)
            steps = tf.maximum(length, 0)

            def body(t, h, c, generated):
                next_ids = tf.argmax(self.logits(weights, h), axis=1, output_type=tf.int32)
                h, c = self.cell(weights, next_ids, h, c)
                return t + 1, h, c, tf.concat([generated, next_ids[:, None]], axis=1)

            _, _, _, generated = tf.while_loop(
                lambda t, h, c, generated: t < steps,
                body,
                (tf.constant(0), h, c, tf.zeros([tf.shape(prefix)[0], 0], tf.int32)),
                shape_invariants=(
                    tf.TensorShape([]),
                    h.shape,
                    c.shape,
                    tf.TensorShape([None, None]),
                ),
            )
            text = tf.strings.reduce_join(tf.gather(self.chars, generated), axis=1)
            return {"continuation": text}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="prefix")])
        def next_char(self, prefix):
            weights = self.weights()
            h, _ = self.read(weights, prefix)
            probabilities = tf.nn.softmax(self.logits(weights, h))
            best = tf.argmax(probabilities, axis=1, output_type=tf.int32)
            return {
                "next_char_probabilities": probabilities,
                "next_char": tf.gather(self.chars, best),
            }

    return CharLM()


def train(module, corpus: np.ndarray, config: CharLMConfig, summary_dir: str) -> float:
    """Train on windows of the first 90% of ``corpus``; return the held-out bits per character.

    Each epoch shuffles the non-overlapping ``window + 1`` character windows (seeded) and takes
    one Adam step per batch; then the held-out windows' mean cross-entropy is measured.
    ``train/bits_per_char`` and ``validation/bits_per_char`` go to TensorBoard.
    """
    from tqdm import tqdm

    tf = tf_runtime.tf()
    tf.config.experimental.enable_op_determinism()
    span = config.window + 1
    split = int(len(corpus) * 0.9)

    def windows(ids):
        count = len(ids) // span
        return ids[: count * span].reshape(count, span)

    train_windows, validation_windows = windows(corpus[:split]), windows(corpus[split:])
    optimizer = tf.keras.optimizers.Adam(config.learning_rate)
    variables = list(module.trainable_variables)
    log2 = float(np.log(2.0))

    def loss_of(batch):
        weights = module.weights()
        h = c = tf.zeros([tf.shape(batch)[0], config.hidden])
        losses = []
        for t in range(config.window):
            h, c = module.cell(weights, batch[:, t], h, c)
            losses.append(
                tf.nn.sparse_softmax_cross_entropy_with_logits(
                    batch[:, t + 1], module.logits(weights, h)
                )
            )
        return tf.reduce_mean(tf.stack(losses))

    spec = tf.TensorSpec([None, span], tf.int32)

    @tf.function(input_signature=[spec])
    def step(batch):
        with tf.GradientTape() as tape:
            loss = loss_of(batch)
        grads, _ = tf.clip_by_global_norm(tape.gradient(loss, variables), config.clip_norm)
        optimizer.apply_gradients(zip(grads, variables, strict=True))
        return loss

    @tf.function(input_signature=[spec])
    def evaluate(batch):
        return loss_of(batch)

    rng = np.random.default_rng(config.seed)
    batches_per_epoch = len(train_windows) // config.batch_size
    writer = tf.summary.create_file_writer(summary_dir)
    validation_bpc = float("nan")
    with tqdm(
        total=config.epochs * batches_per_epoch,
        desc="charlm",
        unit="step",
        file=sys.stderr,
        disable=None,
        leave=False,
    ) as bar:
        for epoch in range(config.epochs):
            order = rng.permutation(len(train_windows))
            losses = []
            for b in range(batches_per_epoch):
                rows = order[b * config.batch_size : (b + 1) * config.batch_size]
                losses.append(float(step(tf.constant(train_windows[rows]))))
                bar.update(1)
                bar.set_postfix(bpc=f"{losses[-1] / log2:.3f}")
            train_bpc = float(np.mean(losses)) / log2
            validation_bpc = float(evaluate(tf.constant(validation_windows))) / log2
            with writer.as_default(step=epoch):
                tf.summary.scalar("train/bits_per_char", train_bpc)
                tf.summary.scalar("validation/bits_per_char", validation_bpc)
            bar.write(
                f"epoch: {epoch}, train bits/char: {train_bpc:.3f}, "
                f"validation bits/char: {validation_bpc:.3f}",
                file=sys.stdout,
            )
    writer.close()
    return validation_bpc


def golden_requests() -> dict[str, dict | str]:
    """Requests for both signatures: English prefixes, an empty one, non-ASCII, length 0."""
    return {
        "generate_one": {
            "signature_name": "generate",
            "inputs": {"prefix": ["The return statement "], "length": 120},
        },
        "generate_batch": {
            "signature_name": "generate",
            "inputs": {
                "prefix": ["A class definition ", "", "If the ", "Exceptions are "],
                "length": 60,
            },
        },
        "generate_non_ascii": {
            "signature_name": "generate",
            "inputs": {"prefix": ["Caf\u00e9 \u2014 na\u00efve ", {"b64": "/w=="}], "length": 20},
        },
        "generate_length_zero": {
            "signature_name": "generate",
            "inputs": {"prefix": ["nothing"], "length": 0},
        },
        "next_char_rows": {"instances": ["impor", "def", "whil", "Python "]},
        "next_char_columnar": {"inputs": {"prefix": ["The ", "the value of "]}},
    }


#: ``generate`` command lines whose output export records in golden/commands.json
#: (``generate_<case>``): lengths, an empty prefix, non-ASCII text, the frozen graph.
GENERATE_CASES: dict[str, list[str]] = {
    "default_length": ["--prefix", "The return statement "],
    "length_300": ["--prefix", "A class ", "--length", "300"],
    "empty_prefix": ["--prefix", "", "--length", "40"],
    "non_ascii": ["--prefix", "Caf\u00e9 na\u00efve ", "--length", "30"],
    "length_0": ["--prefix", "nothing more", "--length", "0"],
    "frozen": ["--prefix", "If the ", "--format", "frozen"],
    "english_like": ["--prefix", "The ", "--length", "200"],
}


def export(models_dir, config: CharLMConfig, run_command: CommandRunner) -> str:
    """Train a fresh model and publish it as the next version of ``models_dir/charlm``."""
    module = build_module(config)
    corpus = load_corpus(config)
    with ExportWriter(models_dir, "charlm", run_command) as writer:
        print(
            f"training charlm on {len(corpus)} characters -> {writer.final_path} "
            f"(TensorFlow {tf_runtime.tf_version()})"
        )
        bpc = train(module, corpus, config, str(writer.path / "summaries"))
        print(f"final: validation bits/char: {bpc!r}")
        sample = module.generate(tf_runtime.tf().constant(["The return statement "]), 120)
        print(f"sample: {sample['continuation'].numpy()[0].decode('ascii')!r}")
        writer.save_model(
            module,
            {
                "serving_default": module.next_char.get_concrete_function(),
                "generate": module.generate.get_concrete_function(),
            },
            {"model": module},
        )
        writer.write_golden(golden_requests())
        for case, args in GENERATE_CASES.items():
            writer.expect_command(f"generate_{case}", ["generate", "--model", VERSION_DIR, *args])
        return str(writer.publish())
