package org.polyglot.tf.internal;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * One model version opened for prediction in one format: resolves signatures, decodes requests
 * against them, runs TensorFlow and encodes responses.
 *
 * <p>Requests are checked against the signature before TensorFlow is involved; the TensorFlow
 * session (the SavedModel, or one frozen graph per signature key) is loaded on first use, or up
 * front with {@link #warmUp(String)}. {@link #close()} frees every session.
 *
 * <p>Safe for concurrent use: the files and sessions are read and loaded under this object's
 * lock, and TensorFlow sessions run concurrently ({@code TF_SessionRun} is thread-safe).
 */
public final class Model implements AutoCloseable {

    /** The artefact a model is run from. */
    public enum Format {
        /** The SavedModel ({@code saved_model.pb} + variables), MetaGraphDef tagged {@code serve}. */
        SAVED_MODEL("saved_model"),
        /** The frozen GraphDef named by {@code manifest.json} for the signature. */
        FROZEN("frozen");

        private final String flag;

        Format(String flag) {
            this.flag = flag;
        }

        /**
         * Returns the command-line spelling.
         *
         * @return {@code saved_model} or {@code frozen}
         */
        public String flag() {
            return flag;
        }

        /**
         * Parses the command-line spelling.
         *
         * @param s {@code saved_model} or {@code frozen}
         * @return the format
         * @throws StatusException for anything else
         */
        public static Format parse(String s) {
            for (Format f : values()) {
                if (f.flag.equals(s)) {
                    return f;
                }
            }
            throw StatusException.invalidArgument("--format must be saved_model or frozen, not " + Echo.quotedSingle(s));
        }
    }

    /**
     * The SignatureDef key of a SavedModel's initialisation op: listed by {@code inspect}, never
     * run by {@code predict} (TensorFlow runs it when loading).
     */
    public static final String INIT_OP_SIGNATURE = "__saved_model_init_op";

    private final ModelLocation location;
    private final Format format;
    private final byte[] sessionConfig;
    private SavedModelInfo savedModel;
    private Manifest manifest;
    private boolean manifestRead;
    private TfSession savedModelSession;
    private final Map<String, TfSession> frozenSessions = new HashMap<>();

    /**
     * The checks {@link #open} makes before TensorFlow reads any of a version: its files against
     * {@code manifest.json} (tests/CONTRACT.md, "Verifying a model version before loading it") and
     * the unsafe ops its signatures can reach (tests/CONTRACT.md, "Unsafe ops"). Both are on
     * unless turned off here.
     *
     * @param verifyManifest whether the version's files are checked against {@code manifest.json}
     *     ({@link ManifestVerifier})
     * @param allowedOps unsafe op type names accepted all the same
     */
    public record Safety(boolean verifyManifest, Set<String> allowedOps) {

        /** Every check on, no op accepted. */
        public static final Safety DEFAULT = new Safety(true, Set.of());

        /**
         * Copies the op names.
         *
         * @param verifyManifest whether {@code manifest.json} is checked
         * @param allowedOps unsafe op type names accepted all the same
         */
        public Safety {
            allowedOps = Set.copyOf(allowedOps);
        }
    }

    /**
     * Opens a model version safely, the one way every caller (the public API and every command)
     * opens a version to run it: verifies its files unless {@code safety} says otherwise, then
     * refuses the first unsafe op that running {@code keys} can reach unless {@code safety}
     * allows it ({@link #refuseUnsafeOps}). Reads no TensorFlow state: sessions load on first
     * use or with {@link #warmUp(String)}.
     *
     * @param location the version folder
     * @param format the artefact to run
     * @param sessionConfig the sessions' serialized {@code tensorflow.ConfigProto}, built by
     *     {@link SessionConfig} (constant folding off); never null
     * @param safety the checks, {@link Safety#DEFAULT} for all of them
     * @param keys the signatures to be run
     * @param everyServable whether every signature a predict request may name is run too
     * @return the open model; the caller closes it
     * @throws StatusException {@code FAILED_PRECONDITION} for a version that fails verification
     *     or holds an unsafe op, {@code NOT_FOUND} for a missing file, {@code INVALID_ARGUMENT}
     *     for a configuration that is not a {@code ConfigProto}
     * @throws IllegalArgumentException when {@code sessionConfig} does not turn constant folding off
     */
    public static Model open(ModelLocation location, Format format, byte[] sessionConfig, Safety safety,
            Collection<String> keys, boolean everyServable) {
        if (safety.verifyManifest()) {
            ManifestVerifier.verify(location.dir(), location.shown());
        }
        Model m = new Model(location, format, sessionConfig);
        try {
            m.refuseUnsafeOps(keys, everyServable, safety.allowedOps());
        } catch (RuntimeException | Error e) {
            m.close();
            throw e;
        }
        return m;
    }

    /**
     * Opens a model version as {@link #open(ModelLocation, Format, byte[], Safety, Collection, boolean)}
     * does, with the contract's session configuration ({@link SessionConfig#contract()}).
     *
     * @param location the version folder
     * @param format the artefact to run
     * @param safety the checks
     * @param keys the signatures to be run
     * @param everyServable whether every signature a predict request may name is run too
     * @return the open model
     * @throws StatusException as the full form does
     */
    public static Model open(ModelLocation location, Format format, Safety safety, Collection<String> keys,
            boolean everyServable) {
        return open(location, format, SessionConfig.contract(), safety, keys, everyServable);
    }

    /**
     * Opens a model version without any check (reads no TensorFlow state yet), for a version this
     * process wrote itself ({@link Trainer}); its sessions get the contract's configuration
     * ({@link SessionConfig#contract()}: constant folding off, TensorFlow's thread pools;
     * tests/CONTRACT.md "Numeric configuration").
     *
     * @param location the version folder
     * @param format the artefact to run
     */
    Model(ModelLocation location, Format format) {
        this(location, format, SessionConfig.contract());
    }

    /**
     * Opens a model version (reads no TensorFlow state yet) whose sessions are created with a
     * configuration.
     *
     * @param location the version folder
     * @param format the artefact to run
     * @param sessionConfig a serialized {@code tensorflow.ConfigProto} passed to every session this
     *     model creates, built by {@link SessionConfig} (constant folding off, tests/CONTRACT.md
     *     "Numeric configuration"); never null
     * @throws NullPointerException when {@code sessionConfig} is null
     * @throws IllegalArgumentException when {@code sessionConfig} does not turn constant folding off
     * @throws StatusException when {@code sessionConfig} is not a {@code ConfigProto}
     */
    Model(ModelLocation location, Format format, byte[] sessionConfig) {
        SessionConfig.check(sessionConfig);
        this.location = location;
        this.format = format;
        this.sessionConfig = sessionConfig.clone();
    }

    /**
     * Returns the version folder.
     *
     * @return the location
     */
    public ModelLocation location() {
        return location;
    }

    /**
     * Returns the SavedModel's MetaGraphDefs, reading {@code saved_model.pb} once.
     *
     * @return the parsed model
     * @throws StatusException when the file is unreadable
     */
    public synchronized SavedModelInfo savedModel() {
        if (savedModel == null) {
            savedModel = SavedModelInfo.read(location.dir(), location.shown());
        }
        return savedModel;
    }

    /**
     * Returns the manifest, reading {@code manifest.json} once.
     *
     * @return the manifest, or {@code null} when the version has none
     * @throws StatusException when it is malformed
     */
    public synchronized Manifest manifest() {
        if (!manifestRead) {
            manifest = Manifest.readIfPresent(location.dir(), location.shown());
            manifestRead = true;
        }
        return manifest;
    }

    /**
     * Returns the manifest that names the frozen graphs (the frozen format runs nothing without
     * it).
     *
     * @return the version's {@code manifest.json}
     * @throws StatusException the catalog's {@code frozen_needs_manifest}
     *     ({@link Code#FAILED_PRECONDITION}) when the version has none
     */
    public Manifest frozenManifest() {
        Manifest m = manifest();
        if (m == null) {
            throw Messages.error("frozen_needs_manifest",
                    Map.of("path", ModelLocation.join(location.shown(), Manifest.FILE_NAME)));
        }
        return m;
    }

    /**
     * Returns the signature to run for a key, in this model's format.
     *
     * @param key the signature key
     * @return the SignatureDef's spec (saved_model), or the manifest's frozen spec (frozen)
     * @throws StatusException when the key is unknown or (frozen) has no frozen graph
     */
    public SignatureSpec signature(String key) {
        if (format == Format.SAVED_MODEL) {
            SortedMap<String, SignatureSpec> sigs = new TreeMap<>(SignatureSpec.CODE_POINT_ORDER);
            sigs.putAll(savedModel().serving().signatures());
            sigs.remove(INIT_OP_SIGNATURE);
            SignatureSpec s = sigs.get(key);
            if (s == null) {
                throw signatureNotFound(key, sigs.keySet());
            }
            return s;
        }
        Manifest m = frozenManifest();
        SignatureSpec s = m.frozenSignature(key);
        if (s == null) {
            if (m.hasSignature(key)) {
                throw noFrozenGraph(m, key);
            }
            throw signatureNotFound(key, m.frozenKeys());
        }
        return s;
    }

    /**
     * The refusal of a signature key the version does not have: the catalog's
     * {@code signature_not_found} ({@link Code#NOT_FOUND}), the available keys in code-point
     * order, comma-separated ({@code none} when there is none), bounded as one value.
     *
     * @param key the key asked for
     * @param available the keys that could have been asked for
     * @return the refusal
     */
    static StatusException signatureNotFound(String key, Collection<String> available) {
        List<String> keys = new ArrayList<>(available);
        keys.sort(SignatureSpec.CODE_POINT_ORDER);
        return Messages.error("signature_not_found", Map.of("signature", key,
                "available", keys.isEmpty() ? "none" : String.join(", ", keys)));
    }

    /**
     * The refusal for {@code --format frozen} on a signature the manifest lists without a
     * {@code frozen} entry (tests/CONTRACT.md, "manifest.json"):
     * {@code signature "KEY" has no frozen graph (REASON); use --format saved_model}, REASON the
     * manifest's {@code frozen_unavailable} (bounded like every echoed value), the parenthesis
     * left out when there is none.
     *
     * @param m the manifest
     * @param key the signature key
     * @return the refusal
     */
    static StatusException noFrozenGraph(Manifest m, String key) {
        String reason = m == null ? null : m.frozenUnavailable(key);
        if (reason == null) {
            return Messages.error("no_frozen_graph", Map.of("signature", key));
        }
        return Messages.error("no_frozen_graph_because", Map.of("signature", key, "reason", reason));
    }

    /**
     * Refuses the first unsafe op that running signatures of this model in its format can reach
     * ({@link OpScanner}; tests/CONTRACT.md, "Unsafe ops"). Reads protos only: call it before any
     * session exists.
     *
     * @param keys the signatures to be run (unknown keys are skipped: running them is refused by
     *     {@link #signature(String)})
     * @param everyServable whether every signature a predict request may name (every key not
     *     starting with {@code __}) is run too
     * @param allowed unsafe ops accepted all the same
     * @throws StatusException naming the op, or when the model cannot be read
     */
    private void refuseUnsafeOps(Collection<String> keys, boolean everyServable, Set<String> allowed) {
        if (format == Format.SAVED_MODEL) {
            OpScanner.checkSavedModel(location.dir(), location.shown(), keys, everyServable, allowed);
        } else {
            OpScanner.checkFrozen(location.dir(), location.shown(), manifest(), keys, everyServable, allowed);
        }
    }

    /**
     * Loads the TensorFlow session that serves a signature key now (e.g. before a long-lived loop).
     *
     * @param key the signature key; only used by the frozen format
     * @throws StatusException when the model cannot be loaded
     */
    public void warmUp(String key) {
        if (format == Format.SAVED_MODEL) {
            savedModel().serving();
            session(key);
        } else {
            Manifest m = manifest();
            if (m != null && m.frozenGraph(key) != null) {
                session(key);
            }
        }
    }

    /**
     * Returns the TensorFlow session that serves a signature key, loading it on first use; it
     * stays owned by this model (closed by {@link #close()}).
     *
     * @param key the signature key
     * @return the session
     * @throws StatusException as {@link #run} does when the session cannot be made
     */
    public synchronized TfSession session(String key) {
        if (format == Format.SAVED_MODEL) {
            if (savedModelSession == null) {
                savedModelSession = TfSession.loadSavedModel(location.dir(), location.shown(), sessionConfig);
            }
            return savedModelSession;
        }
        TfSession s = frozenSessions.get(key);
        if (s == null) {
            String rel = manifest() == null ? null : manifest().frozenGraph(key);
            if (rel == null) {
                signature(key); // refuses an unknown key, or a missing manifest, with its own message
                throw noFrozenGraph(manifest(), key);
            }
            Path graph = location.dir().resolve(rel);
            s = TfSession.loadFrozenGraph(graph, ModelLocation.join(location.shown(), rel), sessionConfig);
            frozenSessions.put(key, s);
        }
        return s;
    }

    /**
     * Runs the session that serves a signature key (loading it on first use): feeds graph tensors
     * and fetches others.
     *
     * @param key the signature key
     * @param inputNames the graph tensors to feed
     * @param inputs the values, one per name
     * @param outputNames the graph tensors to fetch
     * @return the fetched tensors, one per output name
     * @throws StatusException when the model cannot be loaded or TensorFlow fails
     */
    public List<HostTensor> run(String key, List<String> inputNames, List<HostTensor> inputs, List<String> outputNames) {
        return session(key).run(inputNames, inputs, outputNames);
    }

    /**
     * Answers one predict request.
     *
     * @param body the request body (JSON)
     * @param defaultSignature the signature key used when the request's {@code signature_name}
     *     is absent, {@code null} or empty
     * @return the response JSON, one line, without a newline
     * @throws StatusException a refusal for a bad request, a failure when TensorFlow fails
     */
    public String predict(byte[] body, String defaultSignature) {
        PredictRequest req = PredictRequest.parse(body);
        String key = req.signatureName() != null && !req.signatureName().isEmpty()
                ? req.signatureName() : defaultSignature;
        SignatureSpec sig = signature(key);
        PredictRequest.Inputs in = req.decode(sig);
        List<String> inNames = new ArrayList<>();
        List<HostTensor> inValues = new ArrayList<>();
        for (TensorSpec spec : sig.inputs().values()) {
            inNames.add(spec.tensorName());
            inValues.add(in.tensors().get(spec.alias()));
        }
        List<String> outNames = new ArrayList<>();
        for (TensorSpec spec : sig.outputs().values()) {
            outNames.add(spec.tensorName());
        }
        List<HostTensor> out = session(key).run(inNames, inValues, outNames);
        Map<String, HostTensor> byAlias = new HashMap<>();
        int i = 0;
        for (String alias : sig.outputs().keySet()) {
            byAlias.put(alias, out.get(i++));
        }
        return ResponseEncoder.encode(in, sig.outputs(), byAlias);
    }

    /** Frees every TensorFlow session. */
    @Override
    public synchronized void close() {
        if (savedModelSession != null) {
            savedModelSession.close();
            savedModelSession = null;
        }
        frozenSessions.values().forEach(TfSession::close);
        frozenSessions.clear();
    }
}
