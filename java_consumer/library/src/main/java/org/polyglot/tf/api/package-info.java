/**
 * The Java library of the polyglot TensorFlow model interchange: open a model version written by
 * the Python producer, list its signatures and call them, on TensorFlow 2.21.0's C API (through
 * TensorFlow Java 1.2.0's native artifact).
 *
 * <p>The shape is TensorFlow Java's: {@link org.polyglot.tf.api.Model#loader(java.nio.file.Path)}
 * returns a builder ({@code withTags}, {@code withConfigProto}, ...) whose {@code load()} opens the
 * model; {@link org.polyglot.tf.api.Model#function(String)} returns a callable signature whose
 * {@code call} takes and returns {@link org.polyglot.tf.api.Tensor}s by their signature names.
 * Models and tensors are {@link java.lang.AutoCloseable}.
 *
 * <p>Safe by default (tests/CONTRACT.md, "manifest.json" and "Unsafe ops"): {@code load()} checks
 * every file of the version against its {@code manifest.json} and refuses a model whose reachable
 * graphs hold an op that can read or write files or reach outside the process; the loader can
 * skip the first and allow named ops. Every failure is a
 * {@link org.polyglot.tf.api.ModelException} carrying the contract's canonical code.
 *
 * <p>{@link org.polyglot.tf.api.RestJson} decodes TensorFlow Serving REST predict requests into
 * tensors and encodes outputs as its responses, byte for byte as the command line does.
 *
 * <p>Sources: the SavedModel ({@code saved_model.pb} and {@code variables/}, the MetaGraphDef
 * tagged {@code serve}) or the frozen GraphDefs the manifest names per signature.
 */
package org.polyglot.tf.api;
