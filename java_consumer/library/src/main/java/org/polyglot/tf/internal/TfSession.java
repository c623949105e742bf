package org.polyglot.tf.internal;

import static org.tensorflow.internal.c_api.global.tensorflow.TF_AllocateTensor;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_CloseSession;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_DeleteBuffer;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_DeleteGraph;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_DeleteImportGraphDefOptions;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_DeleteSession;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_DeleteSessionOptions;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_DeleteStatus;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_DeleteTensor;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_Dim;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_GetCode;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_GraphImportGraphDef;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_GraphOperationByName;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_LoadSessionFromSavedModel;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_Message;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_NewBufferFromString;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_NewGraph;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_NewImportGraphDefOptions;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_NewSession;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_NewSessionOptions;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_NewStatus;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_NumDims;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_OK;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_OperationNumOutputs;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_SessionRun;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_SetConfig;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_TString_Copy;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_TString_Dealloc;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_TString_GetDataPointer;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_TString_GetSize;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_TString_Init;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_TensorByteSize;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_TensorData;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_TensorType;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_Version;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.tensorflow.internal.c_api.TF_Buffer;
import org.tensorflow.internal.c_api.TF_Graph;
import org.tensorflow.internal.c_api.TF_ImportGraphDefOptions;
import org.tensorflow.internal.c_api.TF_Operation;
import org.tensorflow.internal.c_api.TF_Output;
import org.tensorflow.internal.c_api.TF_Session;
import org.tensorflow.internal.c_api.TF_SessionOptions;
import org.tensorflow.internal.c_api.TF_Status;
import org.tensorflow.internal.c_api.TF_TString;
import org.tensorflow.internal.c_api.TF_Tensor;

/**
 * A TensorFlow graph and session, driven through the TensorFlow C API (TensorFlow Java 1.2.0's
 * JavaCPP bindings, TensorFlow 2.21.0).
 *
 * <p>Every native object is freed deterministically: statuses, options, buffers and tensors
 * within the call that creates them, the graph and session by {@link #close()}. Referencing this
 * class loads the TensorFlow native library (JavaCPP extracts it to {@code ~/.javacpp/cache} on
 * first use).
 *
 * <p>Every session gets a {@code ConfigProto} built by {@link SessionConfig} (Grappler's constant
 * folding off, tests/CONTRACT.md "Numeric configuration"), applied with {@code TF_SetConfig}; a
 * null configuration is an error, not TensorFlow's defaults.
 */
public final class TfSession implements AutoCloseable {

    /** {@code sizeof(TF_TString)}: one string element in a DT_STRING tensor. */
    private static final long TSTRING_SIZE = tstringSize();

    private TF_Graph graph;
    private TF_Session session;

    private static long tstringSize() {
        try (TF_TString probe = new TF_TString()) {
            return probe.sizeof();
        }
    }

    private TfSession(TF_Graph graph, TF_Session session) {
        this.graph = graph;
        this.session = session;
    }

    /**
     * Returns the version of the loaded TensorFlow runtime ({@code TF_Version()}).
     *
     * @return e.g. {@code 2.21.0}
     */
    public static String runtimeVersion() {
        return TF_Version().getString();
    }

    /**
     * Loads a SavedModel's MetaGraphDef with tag-set {@code {"serve"}} and restores its variables
     * ({@code TF_LoadSessionFromSavedModel}), with the contract's session configuration
     * ({@link SessionConfig#contract()}: constant folding off, tests/CONTRACT.md "Numeric
     * configuration").
     *
     * @param versionDir the version folder
     * @return the session
     * @throws StatusException ({@link Code#FAILED_PRECONDITION}) when TensorFlow cannot load the model
     */
    public static TfSession loadSavedModel(Path versionDir) {
        return loadSavedModel(versionDir, SessionConfig.contract());
    }

    /**
     * Loads a SavedModel like {@link #loadSavedModel(Path)}, with a session configuration built by
     * {@link SessionConfig} (e.g. with thread counts).
     *
     * @param versionDir the version folder
     * @param config a serialized {@code tensorflow.ConfigProto} for the session
     *     ({@code TF_SetConfig}); never null, and its constant folding must be {@code OFF}
     *     (tests/CONTRACT.md, "Numeric configuration"; {@link SessionConfig#check(byte[])})
     * @return the session
     * @throws StatusException {@link Code#FAILED_PRECONDITION} when TensorFlow cannot load the
     *     model, {@link Code#INVALID_ARGUMENT} when it rejects the configuration
     * @throws NullPointerException when {@code config} is null
     * @throws IllegalArgumentException when {@code config} does not turn constant folding off
     */
    public static TfSession loadSavedModel(Path versionDir, byte[] config) {
        return loadSavedModel(versionDir, versionDir.toString(), config);
    }

    /**
     * Loads a SavedModel like {@link #loadSavedModel(Path, byte[])}, naming the folder in messages
     * as given (tests/CONTRACT.md, "Paths in messages").
     *
     * @param versionDir the version folder
     * @param shown the version folder's text as given ({@link ModelLocation#shown()})
     * @param config a serialized {@code tensorflow.ConfigProto} whose constant folding is
     *     {@code OFF}
     * @return the session
     * @throws StatusException {@link Code#FAILED_PRECONDITION} when TensorFlow cannot load the
     *     model, {@link Code#INVALID_ARGUMENT} when it rejects the configuration
     */
    public static TfSession loadSavedModel(Path versionDir, String shown, byte[] config) {
        SessionConfig.check(config);
        TF_Status status = TF_NewStatus();
        TF_SessionOptions opts = TF_NewSessionOptions();
        TF_Graph graph = TF_NewGraph();
        TF_Session session = null;
        try (BytePointer dir = new BytePointer(versionDir.toString(), StandardCharsets.UTF_8);
                BytePointer serve = new BytePointer("serve", StandardCharsets.UTF_8);
                PointerPointer<BytePointer> tags = new PointerPointer<>(1)) {
            tags.put(0, serve);
            configure(opts, config, status);
            session = TF_LoadSessionFromSavedModel(opts, (TF_Buffer) null, dir, tags, 1, graph, (TF_Buffer) null, status);
            if (TF_GetCode(status) != TF_OK || session == null || session.isNull()) {
                throw StatusException.failedPrecondition("TensorFlow cannot load the SavedModel in " + Echo.quotedSingle(shown) + ": "
                        + TF_Message(status).getString());
            }
            TfSession s = new TfSession(graph, session);
            graph = null;
            return s;
        } finally {
            if (graph != null) {
                TF_DeleteGraph(graph);
            }
            TF_DeleteSessionOptions(opts);
            TF_DeleteStatus(status);
        }
    }

    /**
     * Imports a frozen (binary) GraphDef and opens a session on it, with the contract's session
     * configuration ({@link SessionConfig#contract()}: constant folding off, tests/CONTRACT.md
     * "Numeric configuration").
     *
     * @param graphFile the {@code .pb} file
     * @return the session
     * @throws StatusException ({@link Code#FAILED_PRECONDITION}) when the file cannot be read or imported
     */
    public static TfSession loadFrozenGraph(Path graphFile) {
        return loadFrozenGraph(graphFile, SessionConfig.contract());
    }

    /**
     * Imports a frozen graph like {@link #loadFrozenGraph(Path)}, with a session configuration
     * built by {@link SessionConfig} (e.g. with thread counts).
     *
     * @param graphFile the {@code .pb} file
     * @param config a serialized {@code tensorflow.ConfigProto} for the session
     *     ({@code TF_SetConfig}); never null, and its constant folding must be {@code OFF}
     *     (tests/CONTRACT.md, "Numeric configuration"; {@link SessionConfig#check(byte[])})
     * @return the session
     * @throws StatusException ({@link Code#FAILED_PRECONDITION}) when the file cannot be read or
     *     imported, or ({@link Code#INVALID_ARGUMENT}) TensorFlow
     *     rejects the configuration
     * @throws NullPointerException when {@code config} is null
     * @throws IllegalArgumentException when {@code config} does not turn constant folding off
     */
    public static TfSession loadFrozenGraph(Path graphFile, byte[] config) {
        return loadFrozenGraph(graphFile, graphFile.toString(), config);
    }

    /**
     * Imports a frozen graph like {@link #loadFrozenGraph(Path, byte[])}, naming the file in
     * messages as given (tests/CONTRACT.md, "Paths in messages").
     *
     * @param graphFile the {@code .pb} file
     * @param shown its text: the version folder as given, {@code /} and the manifest's path
     * @param config a serialized {@code tensorflow.ConfigProto} whose constant folding is
     *     {@code OFF}
     * @return the session
     * @throws StatusException ({@link Code#FAILED_PRECONDITION}) when the file cannot be read or
     *     imported, or ({@link Code#INVALID_ARGUMENT}) TensorFlow
     *     rejects the configuration
     */
    public static TfSession loadFrozenGraph(Path graphFile, String shown, byte[] config) {
        SessionConfig.check(config);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(graphFile);
        } catch (IOException e) {
            throw StatusException.failedPrecondition("cannot read frozen graph " + Echo.quotedSingle(shown) + ": " + e.getMessage());
        }
        TF_Status status = TF_NewStatus();
        TF_Graph graph = TF_NewGraph();
        try {
            TF_ImportGraphDefOptions importOpts = TF_NewImportGraphDefOptions();
            try (BytePointer data = new BytePointer(bytes)) {
                TF_Buffer buf = TF_NewBufferFromString(data, bytes.length);
                try {
                    TF_GraphImportGraphDef(graph, buf, importOpts, status);
                } finally {
                    TF_DeleteBuffer(buf);
                }
            } finally {
                TF_DeleteImportGraphDefOptions(importOpts);
            }
            check(status, Code.FAILED_PRECONDITION, "TensorFlow cannot import the frozen graph " + Echo.quotedSingle(shown));
            TF_SessionOptions opts = TF_NewSessionOptions();
            TF_Session session;
            try {
                configure(opts, config, status);
                session = TF_NewSession(graph, opts, status);
            } finally {
                TF_DeleteSessionOptions(opts);
            }
            check(status, Code.FAILED_PRECONDITION, "TensorFlow cannot open a session on " + Echo.quotedSingle(shown));
            TfSession s = new TfSession(graph, session);
            graph = null;
            return s;
        } finally {
            if (graph != null) {
                TF_DeleteGraph(graph);
            }
            TF_DeleteStatus(status);
        }
    }

    /**
     * Applies a serialized ConfigProto, checked by {@link SessionConfig#check(byte[])}, to session
     * options ({@code TF_SetConfig}); every session is configured, none runs with TensorFlow's
     * default configuration.
     */
    private static void configure(TF_SessionOptions opts, byte[] config, TF_Status status) {
        try (BytePointer proto = new BytePointer(config)) {
            TF_SetConfig(opts, proto, config.length, status);
        }
        check(status, Code.INVALID_ARGUMENT, "TensorFlow rejects the session configuration");
    }

    /**
     * Runs the graph: feeds the inputs and fetches the outputs ({@code TF_SessionRun}).
     *
     * @param inputNames the graph tensors to feed, {@code op:index} (or {@code op} for index 0)
     * @param inputs the values, one per name; dtypes and shapes are the caller's responsibility
     *     (checked against the signature before this call)
     * @param outputNames the graph tensors to fetch
     * @return the fetched tensors, one per output name, copied into Java memory
     * @throws StatusException {@link Code#FAILED_PRECONDITION} when a name is not in the graph;
     *     {@link Code#INTERNAL} when TensorFlow reports an error or an output has a dtype the
     *     consumer cannot represent
     */
    public List<HostTensor> run(List<String> inputNames, List<HostTensor> inputs, List<String> outputNames) {
        return run(inputNames, inputs, outputNames, List.of());
    }

    /**
     * Runs the graph: feeds the inputs, fetches the outputs and also runs the target operations
     * ({@code TF_SessionRun} with {@code target_opers}), e.g. a SavedModel saver's restore op.
     *
     * @param inputNames the graph tensors to feed, {@code op:index} (or {@code op} for index 0)
     * @param inputs the values, one per name; dtypes and shapes are the caller's responsibility
     * @param outputNames the graph tensors to fetch
     * @param targetNames operations to run without fetching anything from them ({@code op}; a
     *     trailing {@code :index} is ignored)
     * @return the fetched tensors, one per output name, copied into Java memory
     * @throws StatusException {@link Code#FAILED_PRECONDITION} when a name is not in the graph;
     *     {@link Code#INTERNAL} when TensorFlow reports an error or an output has a dtype the
     *     consumer cannot represent
     */
    public List<HostTensor> run(List<String> inputNames, List<HostTensor> inputs, List<String> outputNames,
            List<String> targetNames) {
        if (session == null) {
            throw new IllegalStateException("session closed");
        }
        int nIn = inputNames.size();
        int nOut = outputNames.size();
        List<TF_Tensor> fed = new ArrayList<>(nIn);
        List<HostTensor> results = new ArrayList<>(nOut);
        TF_Status status = TF_NewStatus();
        try (TF_Output ins = nIn == 0 ? null : new TF_Output(nIn);
                TF_Output outs = nOut == 0 ? null : new TF_Output(nOut);
                PointerPointer<TF_Tensor> inValues = new PointerPointer<>(Math.max(nIn, 1));
                PointerPointer<TF_Tensor> outValues = new PointerPointer<>(Math.max(nOut, 1));
                PointerPointer<TF_Operation> targets = new PointerPointer<>(Math.max(targetNames.size(), 1))) {
            for (int i = 0; i < targetNames.size(); i++) {
                targets.put(i, operation(targetNames.get(i)));
            }
            for (int i = 0; i < nIn; i++) {
                setOutput(ins, i, inputNames.get(i));
            }
            for (int i = 0; i < nOut; i++) {
                setOutput(outs, i, outputNames.get(i));
            }
            for (int i = 0; i < nIn; i++) {
                TF_Tensor t = toNative(inputs.get(i));
                fed.add(t);
                inValues.put(i, t);
            }
            for (int i = 0; i < nOut; i++) {
                outValues.put(i, (Pointer) null);
            }
            TF_SessionRun(session, (TF_Buffer) null, ins, inValues, nIn, outs, outValues, nOut,
                    targetNames.isEmpty() ? null : targets, targetNames.size(), (TF_Buffer) null, status);
            try {
                // Inputs were checked against the signature before this call, so any error
                // TensorFlow reports here is a failure (INTERNAL, tests/CONTRACT.md "Errors").
                check(status, Code.INTERNAL, "TensorFlow failed to run the graph");
                for (int i = 0; i < nOut; i++) {
                    results.add(fromNative(outValues.get(TF_Tensor.class, i), outputNames.get(i)));
                }
            } finally {
                for (int i = 0; i < nOut; i++) {
                    TF_Tensor t = outValues.get(TF_Tensor.class, i);
                    if (t != null && !t.isNull()) {
                        TF_DeleteTensor(t);
                    }
                }
            }
            return results;
        } finally {
            for (TF_Tensor t : fed) {
                deleteFed(t);
            }
            TF_DeleteStatus(status);
        }
    }

    /**
     * Prepares repeated runs of the same feeds and fetches: resolves the graph tensors once and
     * keeps the native argument arrays, so that each {@link PreparedRun#run()} is one
     * {@code TF_SessionRun} plus reading and freeing the outputs (no name lookups, no maps, no
     * per-call allocation of native memory). Used by {@code bench}.
     *
     * @param inputNames the graph tensors to feed, {@code op:index}
     * @param outputNames the graph tensors to fetch, {@code op:index}
     * @return the prepared call; it must be closed before this session
     * @throws StatusException ({@link Code#FAILED_PRECONDITION}) when a name is not in the graph
     */
    public PreparedRun prepare(List<String> inputNames, List<String> outputNames) {
        if (session == null) {
            throw new IllegalStateException("session closed");
        }
        return new PreparedRun(inputNames, outputNames);
    }

    /**
     * A {@code TF_SessionRun} call with its feeds and fetches resolved once (see
     * {@link TfSession#prepare(List, List)}). The input tensors are native tensors set with
     * {@link #feed(int, HostTensor)} and reused by every run; each run copies every output's
     * buffer in one piece ({@code memcpy}) into a reusable native buffer, then frees the output
     * tensors. Not thread-safe.
     */
    public final class PreparedRun implements AutoCloseable {
        private final int nIn;
        private final int nOut;
        private final String[] outputNames;
        private final TF_Output ins;
        private final TF_Output outs;
        private final PointerPointer<TF_Tensor> inValues;
        private final PointerPointer<TF_Tensor> outValues;
        private final TF_Tensor[] fed;
        private final BytePointer[] sinks;
        private final long[] lastBytes;
        private final TF_Tensor[] got;
        private final TF_Status status;
        private boolean closed;

        private PreparedRun(List<String> inputNames, List<String> outputNames) {
            nIn = inputNames.size();
            nOut = outputNames.size();
            this.outputNames = outputNames.toArray(new String[0]);
            ins = new TF_Output(Math.max(nIn, 1));
            outs = new TF_Output(Math.max(nOut, 1));
            inValues = new PointerPointer<>(Math.max(nIn, 1));
            outValues = new PointerPointer<>(Math.max(nOut, 1));
            fed = new TF_Tensor[nIn];
            sinks = new BytePointer[nOut];
            lastBytes = new long[nOut];
            got = new TF_Tensor[nOut];
            status = TF_NewStatus();
            try {
                for (int i = 0; i < nIn; i++) {
                    setOutput(ins, i, inputNames.get(i));
                    inValues.put(i, (Pointer) null);
                }
                for (int i = 0; i < nOut; i++) {
                    setOutput(outs, i, outputNames.get(i));
                    outValues.put(i, (Pointer) null);
                }
            } catch (RuntimeException | Error e) {
                close();
                throw e;
            }
        }

        /**
         * Sets input {@code i}: copies the host tensor into a new native tensor (one bulk copy),
         * freeing the one it replaces. The tensor is fed unchanged by every following run.
         *
         * @param i the input index, in the order of the names given to {@code prepare}
         * @param value the value; its dtype and shape are the caller's responsibility
         */
        public void feed(int i, HostTensor value) {
            checkOpen();
            TF_Tensor t = toNative(value);
            if (fed[i] != null) {
                deleteFed(fed[i]);
            }
            fed[i] = t;
            inValues.put(i, t);
        }

        /**
         * Runs the graph once: {@code TF_SessionRun} with the fed tensors, then each output's
         * buffer copied in one piece ({@code TF_TensorData}, {@code TF_TensorByteSize},
         * {@code memcpy}) and the output tensors freed.
         *
         * @return the total number of output bytes read
         * @throws StatusException ({@link Code#INTERNAL}) when TensorFlow reports an error or returns no value
         * @throws IllegalStateException when an input has not been fed
         */
        public long run() {
            checkOpen();
            for (int i = 0; i < nIn; i++) {
                if (fed[i] == null) {
                    throw new IllegalStateException("input " + i + " has not been fed");
                }
            }
            TF_SessionRun(session, (TF_Buffer) null, ins, inValues, nIn, outs, outValues, nOut,
                    (PointerPointer<?>) null, 0, (TF_Buffer) null, status);
            for (int i = 0; i < nOut; i++) {
                got[i] = outValues.get(TF_Tensor.class, i);
                outValues.put(i, (Pointer) null);
            }
            long total = 0;
            try {
                check(status, Code.INTERNAL, "TensorFlow failed to run the graph");
                for (int i = 0; i < nOut; i++) {
                    TF_Tensor t = got[i];
                    if (t == null || t.isNull()) {
                        throw StatusException.internal("TensorFlow returned no value for '" + outputNames[i] + "'");
                    }
                    long bytes = TF_TensorByteSize(t);
                    if (bytes > 0) {
                        BytePointer sink = sinks[i];
                        if (sink == null || sink.capacity() < bytes) {
                            if (sink != null) {
                                sink.close();
                            }
                            sink = new BytePointer(bytes);
                            sinks[i] = sink;
                        }
                        Pointer.memcpy(sink, TF_TensorData(t), bytes);
                    }
                    lastBytes[i] = bytes;
                    total += bytes;
                }
            } finally {
                for (int i = 0; i < nOut; i++) {
                    TF_Tensor t = got[i];
                    got[i] = null;
                    if (t != null && !t.isNull()) {
                        TF_DeleteTensor(t);
                    }
                }
            }
            return total;
        }

        /**
         * Returns a copy of the bytes of output {@code i} that the last run read (for checks and
         * tests; not used in timed loops).
         *
         * @param i the output index, in the order of the names given to {@code prepare}
         * @return the output tensor's buffer (empty before the first run)
         */
        public byte[] lastOutput(int i) {
            byte[] b = new byte[Math.toIntExact(lastBytes[i])];
            if (b.length > 0) {
                sinks[i].position(0).get(b, 0, b.length);
            }
            return b;
        }

        private void checkOpen() {
            if (closed || session == null) {
                throw new IllegalStateException("prepared run or session closed");
            }
        }

        /** Frees the fed tensors, the native arrays, the output buffers and the status. Idempotent. */
        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            for (int i = 0; i < nIn; i++) {
                if (fed[i] != null) {
                    deleteFed(fed[i]);
                    fed[i] = null;
                }
            }
            for (BytePointer b : sinks) {
                if (b != null) {
                    b.close();
                }
            }
            ins.close();
            outs.close();
            inValues.close();
            outValues.close();
            TF_DeleteStatus(status);
        }
    }

    /** Points element {@code i} of an output array at the graph tensor {@code name}. */
    private void setOutput(TF_Output array, int i, String name) {
        int colon = name.lastIndexOf(':');
        String op = name;
        int index = 0;
        if (colon > 0 && colon < name.length() - 1 && name.substring(colon + 1).chars().allMatch(Character::isDigit)) {
            op = name.substring(0, colon);
            try {
                index = Integer.parseInt(name.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw StatusException.failedPrecondition("bad tensor name " + Echo.quotedSingle(name));
            }
        }
        TF_Operation oper = TF_GraphOperationByName(graph, op);
        if (oper == null || oper.isNull()) {
            throw StatusException.failedPrecondition("the graph has no operation " + Echo.quotedSingle(op) + " (tensor " + Echo.quotedSingle(name) + ")");
        }
        if (index >= TF_OperationNumOutputs(oper)) {
            throw StatusException.failedPrecondition("operation " + Echo.quotedSingle(op) + " has no output " + index + " (tensor " + Echo.quotedSingle(name) + ")");
        }
        array.position(i).oper(oper).index(index);
        array.position(0);
    }

    /** Finds a graph operation by name ({@code op} or {@code op:index}). */
    private TF_Operation operation(String name) {
        int colon = name.lastIndexOf(':');
        String op = colon > 0 && name.substring(colon + 1).chars().allMatch(Character::isDigit)
                ? name.substring(0, colon) : name;
        TF_Operation oper = TF_GraphOperationByName(graph, op);
        if (oper == null || oper.isNull()) {
            throw StatusException.failedPrecondition("the graph has no operation " + Echo.quotedSingle(op));
        }
        return oper;
    }

    /** Copies a host tensor into a new TF_Tensor (TF_AllocateTensor). */
    private static TF_Tensor toNative(HostTensor h) {
        long[] dims = h.shape();
        DType dt = h.dtype();
        if (dt == DType.STRING) {
            byte[][] strs = h.strings();
            TF_Tensor t = allocate(dt, dims, strs.length * TSTRING_SIZE);
            TF_TString elems = new TF_TString(TF_TensorData(t));
            for (int i = 0; i < strs.length; i++) {
                TF_TString_Init(elems.position(i));
            }
            long total = 0;
            for (byte[] s : strs) {
                total += s.length;
            }
            try (BytePointer all = new BytePointer(Math.max(total, 1))) {
                long off = 0;
                for (byte[] s : strs) {
                    all.position(off).put(s, 0, s.length);
                    off += s.length;
                }
                off = 0;
                for (int i = 0; i < strs.length; i++) {
                    TF_TString_Copy(elems.position(i), all.position(off), strs[i].length);
                    off += strs[i].length;
                }
            } catch (RuntimeException | Error e) {
                deleteFed(t);
                throw e;
            }
            return t;
        }
        ByteBuffer src = h.data().duplicate();
        long bytes = src.capacity();
        TF_Tensor t = allocate(dt, dims, bytes);
        if (bytes > 0) {
            ByteBuffer dst = new BytePointer(TF_TensorData(t)).capacity(bytes).asByteBuffer();
            src.position(0);
            dst.put(src);
        }
        return t;
    }

    private static TF_Tensor allocate(DType dt, long[] dims, long bytes) {
        TF_Tensor t = TF_AllocateTensor(dt.code(), dims, dims.length, bytes);
        if (t == null || t.isNull()) {
            throw StatusException.internal("TensorFlow could not allocate a " + dt.tfName() + " tensor of "
                    + bytes + " bytes");
        }
        return t;
    }

    /** Frees a tensor this class allocated, including the heap parts of its TF_TStrings. */
    private static void deleteFed(TF_Tensor t) {
        if (TF_TensorType(t) == DType.STRING.code()) {
            long n = elementCount(t);
            TF_TString elems = new TF_TString(TF_TensorData(t));
            for (long i = 0; i < n; i++) {
                TF_TString_Dealloc(elems.position(i));
            }
        }
        TF_DeleteTensor(t);
    }

    private static long elementCount(TF_Tensor t) {
        long n = 1;
        for (int i = 0, r = TF_NumDims(t); i < r; i++) {
            n *= TF_Dim(t, i);
        }
        return n;
    }

    /** Copies a fetched TF_Tensor into Java memory. */
    private static HostTensor fromNative(TF_Tensor t, String name) {
        if (t == null || t.isNull()) {
            throw StatusException.internal("TensorFlow returned no value for " + Echo.quotedSingle(name));
        }
        int code = TF_TensorType(t);
        DType dt = DType.fromCode(code);
        if (dt == null) {
            throw StatusException.internal("output tensor " + Echo.quotedSingle(name) + " has dtype "
                    + SavedModelInfo.dtypeName(code) + ", which java_consumer cannot write as JSON");
        }
        int rank = TF_NumDims(t);
        long[] dims = new long[rank];
        for (int i = 0; i < rank; i++) {
            dims[i] = TF_Dim(t, i);
        }
        long n = HostTensor.numElements(dims);
        if (dt == DType.STRING) {
            if (n > Integer.MAX_VALUE - 8) {
                throw StatusException.internal("output tensor " + Echo.quotedSingle(name) + " is too large");
            }
            byte[][] strs = new byte[(int) n][];
            TF_TString elems = new TF_TString(TF_TensorData(t));
            for (int i = 0; i < n; i++) {
                TF_TString e = elems.position(i);
                long len = TF_TString_GetSize(e);
                byte[] b = new byte[Math.toIntExact(len)];
                if (len > 0) {
                    TF_TString_GetDataPointer(e).capacity(len).get(b);
                }
                strs[i] = b;
            }
            return HostTensor.strings(dims, strs);
        }
        long bytes = TF_TensorByteSize(t);
        if (bytes != n * dt.byteSize()) {
            throw StatusException.internal("output tensor " + Echo.quotedSingle(name) + " has " + bytes + " bytes for " + n + " "
                    + dt.tfName() + " elements");
        }
        ByteBuffer copy = HostTensor.allocate(dt, dims);
        if (bytes > 0) {
            copy.put(new BytePointer(TF_TensorData(t)).capacity(bytes).asByteBuffer());
            copy.position(0);
        }
        return HostTensor.numeric(dt, dims, copy);
    }

    /** Throws an error with {@code code} when TensorFlow's status is not {@code TF_OK}. */
    private static void check(TF_Status status, Code code, String what) {
        if (TF_GetCode(status) != TF_OK) {
            throw new StatusException(code, what + ": " + TF_Message(status).getString());
        }
    }

    /** Closes and deletes the session, then deletes the graph. Idempotent. */
    @Override
    public void close() {
        if (session != null) {
            TF_Status status = TF_NewStatus();
            try {
                TF_CloseSession(session, status);
                TF_DeleteSession(session, status);
            } finally {
                TF_DeleteStatus(status);
                session = null;
            }
        }
        if (graph != null) {
            TF_DeleteGraph(graph);
            graph = null;
        }
    }
}
