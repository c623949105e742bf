package org.polyglot.tf.cli;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.function.Supplier;
import org.polyglot.tf.internal.Json;
import org.polyglot.tf.internal.Model;
import org.polyglot.tf.internal.ModelLocation;
import org.polyglot.tf.internal.PredictRequest;
import org.polyglot.tf.internal.StatusException;
import org.polyglot.tf.internal.TfSession;

/**
 * {@code soak} (tests/CONTRACT.md, "Memory soak"): whether the consumer leaks, measured as the
 * resident set size before and after many predictions on one open version, and before and after
 * many open/answer/close cycles of the version.
 *
 * <p>Every answer is the whole predict path ({@link Model#predict}: parse the body, decode the
 * inputs against the signature, run the session, encode the response), and every open is what
 * {@code predict} does (resolve and verify the version, the unsafe-op check, then the session on
 * first use); closing a {@link Model} frees its sessions, graphs and every tensor. The resident
 * set size is {@code VmRSS} of {@code /proc/self/status} in KiB, read right after
 * {@link System#gc()} and {@code malloc_trim(0)} ({@link #trimNativeHeap()}).
 *
 * <p>The JVM's heap and JIT compiler are part of the resident set: a heap that grows (or shrinks)
 * and the C2 compiler's code cache and arenas move the numbers by several MiB while a run warms up,
 * without any leak. For {@code soak} the launcher ({@code bin/java_consumer}) therefore starts the
 * JVM with a fixed, pre-touched heap and the C1 compiler only ({@code -Xms64m -Xmx64m
 * -XX:+AlwaysPreTouch -XX:TieredStopAtLevel=1}, replaced by {@code JAVA_CONSUMER_SOAK_OPTS}).
 */
public final class Soak {

    /** The {@code runtime} field of the output. */
    public static final String RUNTIME = "java";

    /** Predictions answered before the first resident set size of phase 1. */
    public static final int WARMUP_PREDICTIONS = 1000;

    /** Open/answer/close cycles before the first resident set size of phase 2. */
    public static final int WARMUP_LOAD_CYCLES = 10;

    private static final Path PROC_STATUS = Paths.get("/proc/self/status");

    private Soak() {
    }

    /**
     * The command's checked flags.
     *
     * @param signature {@code --signature}, used when the request has no {@code signature_name}
     * @param format {@code --format}
     * @param predictions {@code --predictions}, &gt; 0
     * @param loadCycles {@code --load-cycles}, &gt; 0
     * @param safety the checks of every open: {@code --skip-verification} and {@code --allow-op}
     */
    public record Options(String signature, Model.Format format, long predictions, long loadCycles,
            Model.Safety safety) {
    }

    /**
     * The measurements.
     *
     * @param model the version folder, absolute and as given ({@link ModelLocation#shown()})
     * @param signature the signature key answered
     * @param predictions the measured predictions
     * @param predictionsRss VmRSS in KiB before and after them
     * @param predictionsNanos their duration
     * @param loadCycles the measured open/answer/close cycles
     * @param loadCyclesRss VmRSS in KiB before and after them
     * @param loadCyclesNanos their duration
     */
    public record Result(String model, String signature, long predictions, long[] predictionsRss,
            long predictionsNanos, long loadCycles, long[] loadCyclesRss, long loadCyclesNanos) {
    }

    /**
     * Refuses counts that are not positive.
     *
     * @param predictions {@code --predictions}
     * @param loadCycles {@code --load-cycles}
     * @throws StatusException naming the flag
     */
    public static void checkCounts(long predictions, long loadCycles) {
        if (predictions < 1) {
            throw StatusException.invalidArgument("--predictions must be a positive integer, not " + predictions);
        }
        if (loadCycles < 1) {
            throw StatusException.invalidArgument("--load-cycles must be a positive integer, not " + loadCycles);
        }
    }

    /**
     * Runs both phases and returns the JSON output.
     *
     * @param open resolves (and, unless {@code --skip-verification}, verifies) the version folder;
     *     called for every open
     * @param body the request
     * @param options the checked flags
     * @return the JSON object, one line without a newline
     * @throws StatusException a refusal for a bad model or request (before any loop), a failure
     *     when TensorFlow fails
     */
    public static String run(Supplier<ModelLocation> open, byte[] body, Options options) {
        return json(measure(open, body, options), options, TfSession.runtimeVersion());
    }

    /**
     * Runs both phases.
     *
     * @param open resolves (and verifies) the version folder; called for every open
     * @param body the request
     * @param options the checked flags
     * @return the measurements
     */
    public static Result measure(Supplier<ModelLocation> open, byte[] body, Options options) {
        long[] predRss = new long[2];
        long predNanos;
        String dir;
        String key;
        try (Model m = openModel(open, options)) {
            dir = m.location().shown();
            // The first answer refuses a request the model refuses, before any loop.
            m.predict(body, options.signature());
            String named = PredictRequest.parse(body).signatureName();
            key = named != null && !named.isEmpty() ? named : options.signature();
            for (int i = 1; i < WARMUP_PREDICTIONS; i++) {
                m.predict(body, options.signature());
            }
            predRss[0] = rssKib();
            long t0 = System.nanoTime();
            for (long i = 0; i < options.predictions(); i++) {
                m.predict(body, options.signature());
            }
            predNanos = System.nanoTime() - t0;
            predRss[1] = rssKib();
        }
        long[] loadRss = new long[2];
        for (int i = 0; i < WARMUP_LOAD_CYCLES; i++) {
            cycle(open, body, options);
        }
        loadRss[0] = rssKib();
        long t0 = System.nanoTime();
        for (long i = 0; i < options.loadCycles(); i++) {
            cycle(open, body, options);
        }
        long loadNanos = System.nanoTime() - t0;
        loadRss[1] = rssKib();
        return new Result(dir, key, options.predictions(), predRss, predNanos, options.loadCycles(), loadRss,
                loadNanos);
    }

    /** Opens the version as predict does: resolve, then {@link Model#open} (sessions on first use). */
    private static Model openModel(Supplier<ModelLocation> open, Options options) {
        return Model.open(open.get(), options.format(), options.safety(), List.of(options.signature()), true);
    }

    /** Opens the version, answers the request once and closes it. */
    private static void cycle(Supplier<ModelLocation> open, byte[] body, Options options) {
        try (Model m = openModel(open, options)) {
            m.predict(body, options.signature());
        }
    }

    /**
     * Asks the JVM to collect garbage, then reads the resident set size.
     *
     * @return {@code VmRSS} of {@code /proc/self/status}, in KiB
     * @throws StatusException (INTERNAL) when it cannot be read
     */
    public static long rssKib() {
        System.gc();
        trimNativeHeap();
        return readVmRss();
    }

    /**
     * Hands the C heap's free memory back to the operating system ({@code malloc_trim(0)}, through
     * JavaCPP's {@code Pointer.trimMemory()}, which JavaCPP itself calls after a garbage
     * collection when native memory runs short): the native counterpart of Go's
     * {@code debug.FreeOSMemory}, so that memory freed but kept by the allocator (for instance
     * the JIT compiler's arenas, freed after each compilation) is not counted as a leak. Does
     * nothing where that method is unavailable.
     *
     * @return whether memory was handed back
     */
    static boolean trimNativeHeap() {
        try {
            java.lang.reflect.Method trim = org.bytedeco.javacpp.Pointer.class.getDeclaredMethod("trimMemory");
            trim.setAccessible(true);
            return Boolean.TRUE.equals(trim.invoke(null));
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return false;
        }
    }

    /**
     * Reads {@code VmRSS} of {@code /proc/self/status} without collecting garbage first.
     *
     * @return the resident set size in KiB
     * @throws StatusException (INTERNAL) when it cannot be read
     */
    static long readVmRss() {
        List<String> lines;
        try {
            lines = Files.readAllLines(PROC_STATUS, StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            throw StatusException.internal("cannot read the resident set size from " + PROC_STATUS + ": "
                    + e.getMessage());
        }
        for (String line : lines) {
            if (line.startsWith("VmRSS:")) {
                String[] f = line.substring("VmRSS:".length()).trim().split("\\s+");
                try {
                    return Long.parseLong(f[0]);
                } catch (NumberFormatException e) {
                    break;
                }
            }
        }
        throw StatusException.internal("no VmRSS line in " + PROC_STATUS);
    }

    /**
     * Writes the contract's JSON object (seconds to the millisecond).
     *
     * @param r the measurements
     * @param options the flags
     * @param tensorflowVersion {@code TF_Version()}
     * @return the JSON text, one line without a newline
     */
    public static String json(Result r, Options options, String tensorflowVersion) {
        StringWriter w = new StringWriter();
        try (JsonGenerator g = Json.generator(w)) {
            g.writeStartObject();
            g.writeStringField("runtime", RUNTIME);
            g.writeStringField("tensorflow_version", tensorflowVersion);
            g.writeStringField("model", r.model());
            g.writeStringField("signature", r.signature());
            g.writeStringField("format", options.format().flag());
            g.writeNumberField("predictions", r.predictions());
            g.writeArrayFieldStart("predictions_rss_kib");
            g.writeNumber(r.predictionsRss()[0]);
            g.writeNumber(r.predictionsRss()[1]);
            g.writeEndArray();
            g.writeFieldName("predictions_seconds");
            g.writeNumber(Bench.decimal(r.predictionsNanos() / 1e9, 3));
            g.writeNumberField("load_cycles", r.loadCycles());
            g.writeArrayFieldStart("load_cycles_rss_kib");
            g.writeNumber(r.loadCyclesRss()[0]);
            g.writeNumber(r.loadCyclesRss()[1]);
            g.writeEndArray();
            g.writeFieldName("load_cycles_seconds");
            g.writeNumber(Bench.decimal(r.loadCyclesNanos() / 1e9, 3));
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.toString();
    }
}
