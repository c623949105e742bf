package org.polyglot.tf.api;

import java.math.BigInteger;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.polyglot.tf.internal.HostTensor;
import org.polyglot.tf.internal.ModelLocation;
import org.polyglot.tf.internal.PredictRequest;
import org.polyglot.tf.internal.SessionConfig;
import org.polyglot.tf.internal.SignatureSpec;
import org.polyglot.tf.internal.StatusException;

/**
 * An open model version, the library's {@code SavedModelBundle}: its signatures, callable by key
 * with named tensors.
 *
 * <pre>{@code
 * try (Model model = Model.loader(Path.of("models/linear")).load();
 *      Tensor x = Tensor.ofDoubles(new long[] {1, 1}, 2.0)) {
 *     Map<String, Tensor> out = model.function("serving_default").call(Map.of("x", x));
 * }
 * }</pre>
 *
 * <p>Opening verifies the version's files against its {@code manifest.json} and refuses a model
 * whose graphs hold an unsafe op (tests/CONTRACT.md, "Unsafe ops"), unless the {@link Loader} says
 * otherwise. Calls are safe from several threads at once; {@link #close()} waits for calls in
 * progress and frees the TensorFlow sessions.
 *
 * <p>The process must choose TensorFlow's oneDNN kernels before the JVM starts, with the
 * environment variable {@value #ONEDNN_VARIABLE}: {@code 0} is the contract's numeric
 * configuration (tests/CONTRACT.md, "Runtime": every language and format gives the same bits),
 * {@code 1} TensorFlow's default on x86 (fused kernels; a SavedModel and its frozen graph may then
 * differ by a few ULP). TensorFlow reads it when its native library loads, which a Java program
 * cannot do for itself, so {@link Loader#load()} refuses to guess: with the variable unset it
 * fails with {@link ModelException.Code#FAILED_PRECONDITION}.
 */
public final class Model implements AutoCloseable {

    /** The environment variable that turns TensorFlow's oneDNN kernels on (1) or off (0). */
    public static final String ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS";

    /** The signature key of a SavedModel's initialisation op, never listed nor called. */
    public static final String INIT_OP_SIGNATURE = org.polyglot.tf.internal.Model.INIT_OP_SIGNATURE;

    /** The artefact a model is run from. */
    public enum Format {
        /** The SavedModel: {@code saved_model.pb} and {@code variables/}, MetaGraphDef tagged {@code serve}. */
        SAVED_MODEL,
        /** The frozen GraphDef {@code manifest.json} names for each signature. */
        FROZEN_GRAPH
    }

    /**
     * Options of {@link #load()}, set by chained calls; safety on unless turned off.
     */
    public static final class Loader {
        private final Path dir;
        private Long version;
        private Format format = Format.SAVED_MODEL;
        private byte[] config;
        private int intraOpThreads;
        private int interOpThreads;
        private boolean verify = true;
        private final Set<String> allowedOps = new TreeSet<>();

        private Loader(Path dir) {
            this.dir = Objects.requireNonNull(dir, "dir");
        }

        /**
         * Loads this version of a model folder (default: its highest version); ignored when the
         * folder is itself a version folder.
         *
         * @param version a version number, &gt; 0
         * @return this loader
         * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} for a version &lt;= 0
         */
        public Loader withVersion(long version) {
            if (version <= 0) {
                throw new ModelException(ModelException.Code.INVALID_ARGUMENT, "version must be > 0, not " + version);
            }
            this.version = version;
            return this;
        }

        /**
         * Chooses the artefact to run (default {@link Format#SAVED_MODEL}).
         *
         * @param format the artefact
         * @return this loader
         */
        public Loader withFormat(Format format) {
            this.format = Objects.requireNonNull(format, "format");
            return this;
        }

        /**
         * Names the MetaGraphDef's tags. Only {@code serve}, the tag set every producer writes
         * and the default, is supported.
         *
         * @param tags the tags
         * @return this loader
         * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} for any other tag set
         */
        public Loader withTags(String... tags) {
            if (!Set.of(tags).equals(Set.of("serve"))) {
                throw new ModelException(ModelException.Code.INVALID_ARGUMENT,
                        "only the tag set {serve} is supported, not " + java.util.Arrays.toString(tags));
            }
            return this;
        }

        /**
         * Sets the sessions' {@code tensorflow.ConfigProto}, replacing the thread counts of
         * {@link #withThreads(int, int)}. It must turn constant folding off (the contract's numeric
         * configuration), as {@link #withThreads(int, int)}'s does.
         *
         * @param configProto a serialized {@code tensorflow.ConfigProto}
         * @return this loader
         */
        public Loader withConfigProto(byte[] configProto) {
            this.config = configProto.clone();
            return this;
        }

        /**
         * Sets the sessions' thread pools (default 0 and 0: TensorFlow's choice).
         *
         * @param intraOpThreads {@code intra_op_parallelism_threads}, &gt;= 0
         * @param interOpThreads {@code inter_op_parallelism_threads}, &gt;= 0
         * @return this loader
         * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} for a negative count
         */
        public Loader withThreads(int intraOpThreads, int interOpThreads) {
            if (intraOpThreads < 0 || interOpThreads < 0) {
                throw new ModelException(ModelException.Code.INVALID_ARGUMENT,
                        "thread counts must be >= 0, not " + intraOpThreads + " and " + interOpThreads);
            }
            this.config = null;
            this.intraOpThreads = intraOpThreads;
            this.interOpThreads = interOpThreads;
            return this;
        }

        /**
         * Skips the check of the version's files against {@code manifest.json} (how a bare
         * SavedModel without a manifest is opened).
         *
         * @return this loader
         */
        public Loader withoutVerification() {
            this.verify = false;
            return this;
        }

        /**
         * Accepts ops that are refused by default because they can read or write files or reach
         * outside the process (tests/cases/unsafe_ops.json).
         *
         * @param ops op type names, e.g. {@code ReadFile}
         * @return this loader
         */
        public Loader allowOps(String... ops) {
            allowedOps.addAll(List.of(ops));
            return this;
        }

        /**
         * Opens the model: resolves the version, verifies it, refuses unsafe ops and loads the
         * SavedModel's session (frozen graphs load on their first call).
         *
         * @return the open model; the caller closes it
         * @throws ModelException {@link ModelException.Code#NOT_FOUND} for a missing folder or
         *     version; {@link ModelException.Code#FAILED_PRECONDITION} for a version that fails
         *     verification or holds an unsafe op, or when {@value Model#ONEDNN_VARIABLE} is not set
         *     (see {@link Model}); {@link ModelException.Code#INVALID_ARGUMENT} for an
         *     empty path or a bad configuration; {@link ModelException.Code#INTERNAL} when TensorFlow fails
         */
        public Model load() {
            if (System.getenv(ONEDNN_VARIABLE) == null) {
                throw new ModelException(ModelException.Code.FAILED_PRECONDITION, ONEDNN_VARIABLE + " is not set; "
                        + "start the JVM with " + ONEDNN_VARIABLE + "=0 for the same bits as every other consumer "
                        + "and format, or =1 for TensorFlow's oneDNN kernels");
            }
            if (dir.toString().isEmpty()) {
                throw new ModelException(ModelException.Code.INVALID_ARGUMENT,
                        "the model path is empty; expected a model folder or a version folder");
            }
            try {
                byte[] cfg = config != null ? config : SessionConfig.serialized(intraOpThreads, interOpThreads);
                ModelLocation loc = ModelLocation.resolve(dir.toString(), version);
                org.polyglot.tf.internal.Model.Format f = format == Format.SAVED_MODEL
                        ? org.polyglot.tf.internal.Model.Format.SAVED_MODEL : org.polyglot.tf.internal.Model.Format.FROZEN;
                org.polyglot.tf.internal.Model m;
                try {
                    m = org.polyglot.tf.internal.Model.open(loc, f, cfg,
                            new org.polyglot.tf.internal.Model.Safety(verify, allowedOps), List.of(), true);
                } catch (IllegalArgumentException e) {
                    throw new ModelException(ModelException.Code.INVALID_ARGUMENT, e.getMessage(), e);
                }
                try {
                    if (format == Format.SAVED_MODEL) {
                        m.warmUp(null);
                    } else {
                        m.frozenManifest();
                    }
                    return new Model(m, loc, format);
                } catch (RuntimeException e) {
                    m.close();
                    throw e;
                }
            } catch (StatusException e) {
                throw ModelException.of(e);
            }
        }
    }

    private final org.polyglot.tf.internal.Model model;
    private final ModelLocation location;
    private final Format format;
    private final Map<String, Signature> signatures;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private boolean closed;

    private Model(org.polyglot.tf.internal.Model model, ModelLocation location, Format format) {
        this.model = model;
        this.location = location;
        this.format = format;
        List<String> keys = new ArrayList<>();
        if (format == Format.SAVED_MODEL) {
            keys.addAll(model.savedModel().serving().signatures().keySet());
            keys.remove(INIT_OP_SIGNATURE);
        } else if (model.manifest() != null) {
            keys.addAll(model.manifest().frozenKeys());
        }
        keys.sort(SignatureSpec.CODE_POINT_ORDER);
        Map<String, Signature> sigs = new LinkedHashMap<>();
        for (String k : keys) {
            sigs.put(k, new Signature(this, model.signature(k)));
        }
        this.signatures = Collections.unmodifiableMap(sigs);
    }

    /**
     * Starts opening a model.
     *
     * @param dir a version folder (it holds {@code saved_model.pb}) or a model folder whose
     *     versions are sub-folders named by positive integers
     * @return the loader
     */
    public static Loader loader(Path dir) {
        return new Loader(dir);
    }

    /**
     * Opens a model with the defaults: its highest version, the SavedModel, verified, unsafe ops
     * refused.
     *
     * @param dir a version folder or a model folder
     * @return the open model
     * @throws ModelException as {@link Loader#load()}
     */
    public static Model load(Path dir) {
        return loader(dir).load();
    }

    /**
     * Returns the version folder.
     *
     * @return the folder opened
     */
    public Path directory() {
        return location.dir();
    }

    /**
     * Returns the version number.
     *
     * @return the number, or {@code null} when the folder's name is not one
     */
    public BigInteger version() {
        return location.version();
    }

    /**
     * Returns the artefact run.
     *
     * @return the format
     */
    public Format format() {
        return format;
    }

    /**
     * Returns the signatures that can be called: a SavedModel's (but its initialisation op), or
     * those the manifest gives a frozen graph.
     *
     * @return the signatures by key, in code-point order; unmodifiable
     */
    public Map<String, Signature> signatures() {
        return signatures;
    }

    /**
     * Returns one signature, to call.
     *
     * @param key the signature key, e.g. {@code serving_default}
     * @return the signature
     * @throws ModelException {@link ModelException.Code#NOT_FOUND} naming the available keys
     */
    public Signature function(String key) {
        Signature s = signatures.get(key);
        if (s == null) {
            try {
                model.signature(key); // the contract's refusal (not found, no frozen graph)
            } catch (StatusException e) {
                throw ModelException.of(e);
            }
            throw new ModelException(ModelException.Code.NOT_FOUND, "signature \"" + key + "\" not found");
        }
        return s;
    }

    /**
     * Calls a signature by key.
     *
     * @param key the signature key
     * @param inputs one tensor per input name
     * @return one new tensor per output name
     * @throws ModelException as {@link #function(String)} and {@link Signature#call(Map)}
     */
    public Map<String, Tensor> call(String key, Map<String, Tensor> inputs) {
        return function(key).call(inputs);
    }

    Map<String, Tensor> call(Signature sig, Map<String, Tensor> inputs) {
        Set<String> given = new TreeSet<>(SignatureSpec.CODE_POINT_ORDER);
        given.addAll(inputs.keySet());
        try {
            PredictRequest.checkAliases(given, sig.internal().inputs(), "the call of signature \"" + sig.key() + "\"");
        } catch (StatusException e) {
            throw ModelException.of(e);
        }
        List<String> inNames = new ArrayList<>();
        List<HostTensor> inValues = new ArrayList<>();
        for (TensorSpec spec : sig.inputs().values()) {
            HostTensor t = Objects.requireNonNull(inputs.get(spec.name()), spec.name()).internal();
            check(spec, t);
            inNames.add(spec.tensorName());
            inValues.add(t);
        }
        return run(sig, inNames, inValues);
    }

    Map<String, Tensor> run(Signature sig, List<String> inNames, List<HostTensor> inValues) {
        List<String> outNames = new ArrayList<>();
        for (TensorSpec spec : sig.outputs().values()) {
            outNames.add(spec.tensorName());
        }
        List<HostTensor> out;
        lock.readLock().lock();
        try {
            if (closed) {
                throw new ModelException(ModelException.Code.FAILED_PRECONDITION, "model is closed");
            }
            out = model.run(sig.key(), inNames, inValues, outNames);
        } catch (StatusException e) {
            throw ModelException.of(e);
        } finally {
            lock.readLock().unlock();
        }
        Map<String, Tensor> result = new LinkedHashMap<>();
        int i = 0;
        for (String name : sig.outputs().keySet()) {
            result.put(name, new Tensor(out.get(i++)));
        }
        return result;
    }

    private static void check(TensorSpec spec, HostTensor t) {
        DataType want = spec.dataType();
        if (want == null || want.internal() != t.dtype()) {
            throw new ModelException(ModelException.Code.INVALID_ARGUMENT, "input " + spec + " given a "
                    + t.dtype().tfName() + " tensor");
        }
        long[] shape = spec.shape();
        if (shape == null) {
            return;
        }
        boolean ok = shape.length == t.rank();
        for (int i = 0; ok && i < shape.length; i++) {
            ok = shape[i] < 0 || shape[i] == t.dim(i);
        }
        if (!ok) {
            throw new ModelException(ModelException.Code.INVALID_ARGUMENT, "input " + spec + " given shape "
                    + java.util.Arrays.toString(t.shape()));
        }
    }

    /** Waits for the calls in progress, then frees every TensorFlow session. Closing twice does nothing. */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (!closed) {
                closed = true;
                model.close();
            }
        } finally {
            lock.writeLock().unlock();
        }
    }
}
