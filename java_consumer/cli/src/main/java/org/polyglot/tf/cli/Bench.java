package org.polyglot.tf.cli;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.polyglot.tf.internal.DType;
import org.polyglot.tf.internal.Echo;
import org.polyglot.tf.internal.HostTensor;
import org.polyglot.tf.internal.Json;
import org.polyglot.tf.internal.Model;
import org.polyglot.tf.internal.ModelLocation;
import org.polyglot.tf.internal.Numbers;
import org.polyglot.tf.internal.SessionConfig;
import org.polyglot.tf.internal.SignatureSpec;
import org.polyglot.tf.internal.StatusException;
import org.polyglot.tf.internal.TensorSpec;
import org.polyglot.tf.internal.TfSession;

/**
 * {@code bench}: times the consumer's own predict loop in-process ({@code tests/CONTRACT.md},
 * "Benchmark").
 *
 * <p>For each batch size, every input of the signature is built once from one flat buffer
 * ({@link #input(TensorSpec, long)}) and copied once into a native tensor; the feeds and fetches
 * are resolved once ({@link TfSession#prepare}); each timed call is then one
 * {@code TF_SessionRun}, a bulk copy of every output's buffer and freeing the outputs. Warm-up is
 * 10 calls or 0.2 s, whichever is longer; the measured loop runs until {@code --seconds} have
 * passed and at least 5 calls were made, each call timed alone with {@link System#nanoTime()}.
 */
public final class Bench {

    /** The {@code runtime} field of the JSON output. */
    public static final String RUNTIME = "java";

    /** Warm-up: at least this many calls ... */
    public static final int WARMUP_CALLS = 10;

    /** ... and at least this long (0.2 s), in nanoseconds. */
    public static final long WARMUP_NANOS = 200_000_000L;

    /** The measured loop makes at least this many calls. */
    public static final int MIN_CALLS = 5;

    /** The default {@code --batch-sizes}. */
    public static final String DEFAULT_BATCH_SIZES = "1,8,64,512,4096";

    private Bench() {
    }

    /**
     * The checked {@code bench} flags.
     *
     * @param signature the signature key
     * @param format the artefact to run
     * @param batchSizes the batch sizes, in order (each &gt; 0)
     * @param seconds the measured time per batch size (&gt; 0)
     * @param intraOpThreads {@code ConfigProto.intra_op_parallelism_threads} (0: TensorFlow's choice)
     * @param interOpThreads {@code ConfigProto.inter_op_parallelism_threads} (0: TensorFlow's choice)
     */
    public record Options(String signature, Model.Format format, long[] batchSizes, double seconds,
            int intraOpThreads, int interOpThreads) {

        /**
         * Checks the flags (the contract's refusals: {@code --seconds} not &gt; 0, negative
         * thread counts; batch sizes are checked by {@link #parseBatchSizes(String)}).
         *
         * @param signature the signature key
         * @param format the artefact to run
         * @param batchSizes the batch sizes
         * @param seconds the measured time per batch size
         * @param intraOpThreads intra-op threads
         * @param interOpThreads inter-op threads
         * @throws StatusException for a bad value
         */
        public Options {
            if (!(seconds > 0) || Double.isInfinite(seconds)) {
                throw StatusException.invalidArgument("--seconds must be a finite number > 0, not " + seconds);
            }
            if (batchSizes.length == 0) {
                throw StatusException.invalidArgument("--batch-sizes must list at least one batch size");
            }
            for (long b : batchSizes) {
                if (b <= 0) {
                    throw StatusException.invalidArgument("--batch-sizes must be positive integers, not " + b);
                }
            }
            batchSizes = batchSizes.clone();
            checkThreads("--intra-op-threads", intraOpThreads);
            checkThreads("--inter-op-threads", interOpThreads);
        }

        /**
         * Returns a copy of the batch sizes.
         *
         * @return the batch sizes, in order
         */
        @Override
        public long[] batchSizes() {
            return batchSizes.clone();
        }
    }

    private static void checkThreads(String flag, int n) {
        if (n < 0) {
            throw StatusException.invalidArgument(flag + " must be >= 0 (0: TensorFlow's choice), not " + n);
        }
    }

    /**
     * Parses {@code --batch-sizes}: comma-separated positive integers.
     *
     * @param text e.g. {@code 1,8,64}
     * @return the batch sizes, in the order given
     * @throws StatusException for an empty list, an empty item, a non-integer or a
     *     non-positive batch size
     */
    public static long[] parseBatchSizes(String text) {
        if (text == null || text.isBlank()) {
            throw StatusException.invalidArgument("--batch-sizes must list at least one batch size, e.g. 1,8,64");
        }
        String[] parts = text.split(",", -1);
        long[] sizes = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i].trim();
            long v;
            try {
                v = Long.parseLong(p);
            } catch (NumberFormatException e) {
                throw StatusException.invalidArgument("--batch-sizes must be comma-separated positive integers; " + Echo.quotedSingle(p)
                        + " in " + Echo.quotedSingle(text) + " is not one");
            }
            if (v <= 0) {
                throw StatusException.invalidArgument("--batch-sizes must be positive integers, not " + v);
            }
            sizes[i] = v;
        }
        return sizes;
    }

    /**
     * Serializes the session configuration for the thread flags: the contract's
     * {@code ConfigProto} ({@link SessionConfig#serialized(int, int)}: Grappler's constant folding
     * off, tests/CONTRACT.md "Numeric configuration") with these thread counts.
     *
     * @param intraOpThreads {@code intra_op_parallelism_threads} (0: TensorFlow's choice)
     * @param interOpThreads {@code inter_op_parallelism_threads} (0: TensorFlow's choice)
     * @return a serialized {@code tensorflow.ConfigProto}, never null; with both 0 it is exactly
     *     the configuration of the other commands ({@link SessionConfig#contract()})
     */
    public static byte[] sessionConfig(int intraOpThreads, int interOpThreads) {
        return SessionConfig.serialized(intraOpThreads, interOpThreads);
    }

    /**
     * Checks that bench can generate every input of a signature: a numeric or bool dtype and a
     * known rank.
     *
     * @param sig the signature
     * @throws StatusException naming the first input that cannot be generated
     */
    public static void checkInputs(SignatureSpec sig) {
        for (TensorSpec spec : sig.inputs().values()) {
            DType dt = spec.dtype();
            if (dt == null || dt == DType.STRING) {
                throw StatusException.invalidArgument("bench needs numeric or bool inputs; input " + spec.describe()
                        + " of signature " + Echo.quotedSingle(sig.key()) + " is not");
            }
            if (!spec.rankKnown()) {
                throw StatusException.invalidArgument("bench needs inputs of known rank; input " + spec.describe()
                        + " of signature " + Echo.quotedSingle(sig.key()) + " has an unknown rank");
            }
        }
    }

    /**
     * Returns the shape bench feeds for an input: dim 0 is the batch size, every other unknown dim
     * is 1, known dims are kept; a rank-0 input is a scalar.
     *
     * @param spec the input (known rank)
     * @param batchSize the batch size
     * @return the dims
     */
    public static long[] inputShape(TensorSpec spec, long batchSize) {
        long[] shape = spec.shape().clone();
        for (int i = 0; i < shape.length; i++) {
            if (i == 0) {
                shape[i] = batchSize;
            } else if (shape[i] < 0) {
                shape[i] = 1;
            }
        }
        return shape;
    }

    /**
     * Generates bench's value for an input: element {@code k} (row-major) is
     * {@code (k % 1000) / 1000} for floating dtypes (correctly rounded to the dtype),
     * {@code k % 100} for integer dtypes and {@code k % 2 == 1} for bool, written into one flat
     * little-endian buffer.
     *
     * @param spec the input (numeric or bool dtype, known rank)
     * @param batchSize the batch size
     * @return the tensor
     * @throws StatusException when the dtype cannot be generated or the tensor would
     *     exceed 2 GiB
     */
    public static HostTensor input(TensorSpec spec, long batchSize) {
        DType dt = spec.dtype();
        if (dt == null || dt == DType.STRING || !spec.rankKnown()) {
            throw StatusException.invalidArgument("bench cannot generate input " + spec.describe());
        }
        long[] shape = inputShape(spec, batchSize);
        ByteBuffer b;
        try {
            b = HostTensor.allocate(dt, shape);
        } catch (ArithmeticException e) {
            throw StatusException.invalidArgument("input " + spec.describe() + " at batch size " + batchSize
                    + " would be too large");
        }
        int n = b.capacity() / dt.byteSize();
        switch (dt) {
            case FLOAT -> {
                for (int k = 0; k < n; k++) {
                    b.putFloat(k * 4, (float) ((k % 1000) / 1000.0));
                }
            }
            case DOUBLE -> {
                for (int k = 0; k < n; k++) {
                    b.putDouble(k * 8, (k % 1000) / 1000.0);
                }
            }
            case HALF -> {
                for (int k = 0; k < n; k++) {
                    b.putShort(k * 2, Numbers.doubleToHalf((k % 1000) / 1000.0));
                }
            }
            case BOOL -> {
                for (int k = 0; k < n; k++) {
                    b.put(k, (byte) (k % 2));
                }
            }
            case INT8, UINT8 -> {
                for (int k = 0; k < n; k++) {
                    b.put(k, (byte) (k % 100));
                }
            }
            case INT16, UINT16 -> {
                for (int k = 0; k < n; k++) {
                    b.putShort(k * 2, (short) (k % 100));
                }
            }
            case INT32, UINT32 -> {
                for (int k = 0; k < n; k++) {
                    b.putInt(k * 4, k % 100);
                }
            }
            case INT64, UINT64 -> {
                for (int k = 0; k < n; k++) {
                    b.putLong(k * 8, k % 100);
                }
            }
            default -> throw StatusException.invalidArgument("bench cannot generate input " + spec.describe());
        }
        return HostTensor.numeric(dt, shape, b);
    }

    /**
     * Returns the nearest-rank percentile of sorted values: the smallest value such that at least
     * {@code p} percent of the values are &lt;= it, i.e. {@code sorted[ceil(p * n / 100) - 1]}.
     *
     * @param sorted the values, ascending (at least one)
     * @param n how many of {@code sorted} are used (its first {@code n})
     * @param p the percentile, 1..100
     * @return the value
     * @throws IllegalArgumentException when {@code n < 1} or {@code p} is out of range
     */
    public static long nearestRank(long[] sorted, int n, int p) {
        if (n < 1 || n > sorted.length || p < 1 || p > 100) {
            throw new IllegalArgumentException("percentile " + p + " of " + n + " values");
        }
        long rank = ((long) p * n + 99) / 100;
        return sorted[(int) rank - 1];
    }

    /**
     * Returns the median of sorted values: the middle one, or the mean of the two middle ones for
     * an even count (as the Go consumer and the C floor compute it).
     *
     * @param sorted the values, ascending
     * @param n how many of {@code sorted} are used (its first {@code n}, at least one)
     * @return the median
     * @throws IllegalArgumentException when {@code n < 1}
     */
    public static double median(long[] sorted, int n) {
        if (n < 1 || n > sorted.length) {
            throw new IllegalArgumentException("median of " + n + " values");
        }
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + (double) sorted[n / 2]) / 2.0;
    }

    /**
     * The timings of one batch size.
     *
     * @param batchSize the batch size
     * @param calls the number of measured calls
     * @param medianNanos the median call time ({@link #median(long[], int)})
     * @param p99Nanos the nearest-rank 99th percentile of the call times
     * @param totalNanos the sum of the call times
     */
    public record Result(long batchSize, long calls, double medianNanos, long p99Nanos, long totalNanos) {

        /**
         * Summarizes call times.
         *
         * @param batchSize the batch size
         * @param times the call times in nanoseconds; sorted in place
         * @param n how many of {@code times} are used (at least one)
         * @return the summary
         */
        public static Result of(long batchSize, long[] times, int n) {
            Arrays.sort(times, 0, n);
            long total = 0;
            for (int i = 0; i < n; i++) {
                total += times[i];
            }
            return new Result(batchSize, n, median(times, n), nearestRank(times, n, 99), total);
        }

        /**
         * Returns the mean call time.
         *
         * @return the mean in microseconds
         */
        public double meanMicros() {
            return totalNanos / (double) calls / 1000.0;
        }

        /**
         * Returns the throughput over the measured time (the sum of the call times).
         *
         * @return batch size times calls per second
         */
        public double rowsPerSecond() {
            return totalNanos == 0 ? 0 : batchSize * (double) calls * 1e9 / totalNanos;
        }
    }

    /**
     * Times one batch size: the warm-up, then the measured loop.
     *
     * @param run the prepared call, its inputs fed
     * @param batchSize the batch size (for the result)
     * @param seconds the measured time
     * @return the timings
     */
    public static Result measure(TfSession.PreparedRun run, long batchSize, double seconds) {
        long warmStart = System.nanoTime();
        for (int i = 0; i < WARMUP_CALLS || System.nanoTime() - warmStart < WARMUP_NANOS; i++) {
            run.run();
        }
        long budget = seconds * 1e9 >= Long.MAX_VALUE ? Long.MAX_VALUE : (long) Math.ceil(seconds * 1e9);
        long[] times = new long[4096];
        int n = 0;
        long begin = System.nanoTime();
        while (true) {
            long t0 = System.nanoTime();
            run.run();
            long t1 = System.nanoTime();
            if (n == times.length) {
                times = Arrays.copyOf(times, n * 2);
            }
            times[n++] = t1 - t0;
            if (n >= MIN_CALLS && t1 - begin >= budget) {
                break;
            }
        }
        return Result.of(batchSize, times, n);
    }

    /**
     * Runs the benchmark on a model version, no op allowed beyond the safe ones.
     *
     * @param location the version folder
     * @param options the checked flags
     * @return the JSON output, one line without a newline
     * @throws StatusException a refusal for a bad model, an unsafe op, a bad signature or input;
     *     a failure when TensorFlow fails to run
     */
    public static String run(ModelLocation location, Options options) {
        return run(location, options, Model.Safety.DEFAULT);
    }

    /**
     * Runs the benchmark on a model version, opened as every command opens one
     * ({@link Model#open}: verified, unsafe ops that the signature can reach refused, unless
     * {@code safety} says otherwise).
     *
     * @param location the version folder
     * @param options the checked flags
     * @param safety the checks: {@code --skip-verification} and {@code --allow-op}
     * @return the JSON output, one line without a newline
     * @throws StatusException a refusal for a bad model, an unsafe op, a bad signature or input;
     *     a failure when TensorFlow fails to run
     */
    public static String run(ModelLocation location, Options options, Model.Safety safety) {
        byte[] config = sessionConfig(options.intraOpThreads(), options.interOpThreads());
        List<Result> results = new ArrayList<>();
        try (Model model = Model.open(location, options.format(), config, safety, List.of(options.signature()), false)) {
            SignatureSpec sig = model.signature(options.signature());
            checkInputs(sig);
            List<TensorSpec> inputs = new ArrayList<>(sig.inputs().values());
            List<String> inNames = new ArrayList<>();
            for (TensorSpec spec : inputs) {
                inNames.add(spec.tensorName());
            }
            List<String> outNames = new ArrayList<>();
            for (TensorSpec spec : sig.outputs().values()) {
                outNames.add(spec.tensorName());
            }
            TfSession session = model.session(options.signature());
            try (TfSession.PreparedRun run = session.prepare(inNames, outNames)) {
                for (long batchSize : options.batchSizes()) {
                    for (int i = 0; i < inputs.size(); i++) {
                        run.feed(i, input(inputs.get(i), batchSize));
                    }
                    results.add(measure(run, batchSize, options.seconds()));
                }
            }
        }
        return json(location, options, TfSession.runtimeVersion(), results);
    }

    /**
     * Writes the contract's JSON object (times in microseconds to the nanosecond, rows per second
     * to 0.1).
     *
     * @param location the version folder (written as its absolute path)
     * @param options the flags
     * @param tensorflowVersion {@code TF_Version()}
     * @param results one per batch size, in order
     * @return the JSON text, one line without a newline
     */
    public static String json(ModelLocation location, Options options, String tensorflowVersion,
            List<Result> results) {
        StringWriter w = new StringWriter();
        try (JsonGenerator g = Json.generator(w)) {
            g.writeStartObject();
            g.writeStringField("runtime", RUNTIME);
            g.writeStringField("tensorflow_version", tensorflowVersion);
            g.writeStringField("model", location.shown());
            g.writeStringField("signature", options.signature());
            g.writeStringField("format", options.format().flag());
            g.writeNumberField("intra_op_threads", options.intraOpThreads());
            g.writeNumberField("inter_op_threads", options.interOpThreads());
            g.writeArrayFieldStart("results");
            for (Result r : results) {
                g.writeStartObject();
                g.writeNumberField("batch_size", r.batchSize());
                g.writeNumberField("calls", r.calls());
                g.writeFieldName("median_us");
                g.writeNumber(decimal(r.medianNanos() / 1000.0, 3));
                g.writeFieldName("p99_us");
                g.writeNumber(decimal(r.p99Nanos() / 1000.0, 3));
                g.writeFieldName("mean_us");
                g.writeNumber(decimal(r.meanMicros(), 3));
                g.writeFieldName("rows_per_second");
                g.writeNumber(decimal(r.rowsPerSecond(), 1));
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.toString();
    }

    /**
     * Formats a non-negative finite measurement rounded to at most {@code places} decimals
     * (round-half-even), written as tests/CONTRACT.md, "Numbers in text", writes a float64
     * ({@code 22.0}, {@code 21.875}).
     *
     * @param x the number
     * @param places the maximum number of decimals
     * @return the literal
     */
    static String decimal(double x, int places) {
        return Numbers.format(new BigDecimal(x).setScale(places, RoundingMode.HALF_EVEN).doubleValue());
    }
}
