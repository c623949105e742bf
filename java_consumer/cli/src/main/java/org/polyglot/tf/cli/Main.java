package org.polyglot.tf.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.polyglot.tf.internal.Code;
import org.polyglot.tf.internal.Conveniences;
import org.polyglot.tf.internal.Echo;
import org.polyglot.tf.internal.Inspector;
import org.polyglot.tf.internal.Json;
import org.polyglot.tf.internal.Manifest;
import org.polyglot.tf.internal.ManifestVerifier;
import org.polyglot.tf.internal.Model;
import org.polyglot.tf.internal.ModelLocation;
import org.polyglot.tf.internal.OpScanner;
import org.polyglot.tf.internal.RequestBody;
import org.polyglot.tf.internal.SavedModelInfo;
import org.polyglot.tf.internal.SharedData;
import org.polyglot.tf.internal.SignatureSpec;
import org.polyglot.tf.internal.StatusException;
import org.polyglot.tf.internal.TfSession;
import org.polyglot.tf.internal.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine;

/**
 * The {@code java_consumer} command line: {@code predict}, {@code inspect}, {@code serve-stdio},
 * {@code classify}, {@code generate}, {@code train}, {@code bench}, {@code soak} and {@code version}
 * (see {@code tests/CONTRACT.md}), and {@code run-cases}, the test harness's long-lived mode
 * ({@link CaseRunner}).
 *
 * <p>Every error is a {@link StatusException} carrying a canonical {@link Code}, written as one
 * line {@code java_consumer: error: <message>} on stderr; the exit status is the code's
 * ({@link #execute}, the only place a status is derived): 2 for refusals (bad flags, bad model
 * path, bad request, a model that may not be run), 1 for failures (TensorFlow failing to run a
 * valid request); never a stack trace.
 */
@Command(name = Main.NAME, description = "Runs TensorFlow models (SavedModel or frozen graph) on TensorFlow "
        + "Serving REST predict requests, and trains models that provide a train signature.",
        synopsisSubcommandLabel = "COMMAND",
        subcommands = {Main.Predict.class, Main.Inspect.class, Main.ServeStdio.class, Main.Classify.class,
            Main.Generate.class, Main.Train.class, Main.BenchCommand.class, Main.SoakCommand.class, Main.Version.class,
            Main.RunCases.class})
public final class Main implements Callable<Integer> {

    /** The consumer's name, the prefix of every error line. */
    public static final String NAME = "java_consumer";

    /** The default signature key. */
    public static final String DEFAULT_SIGNATURE = SignatureSpec.DEFAULT_KEY;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    private Main() {
    }

    /**
     * Runs the command line and exits with its status.
     *
     * @param args the arguments
     */
    public static void main(String[] args) {
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false,
                StandardCharsets.UTF_8);
        int status = run(args, System.in, out, System.err);
        out.flush();
        System.exit(status);
    }

    /**
     * What one run of the command line ended with.
     *
     * @param status the exit status: 0 after success, else the code's ({@link Code#exitStatus()})
     * @param code the canonical code's name of the error, {@value Code#OK} after success
     */
    public record Outcome(int status, String code) {
        /** The outcome of a command that succeeded. */
        static final Outcome OK = new Outcome(0, Code.OK);

        /**
         * Returns the outcome of a command that failed with a code.
         *
         * @param code the error's code
         * @return its exit status (from the table) and name
         */
        static Outcome of(Code code) {
            return new Outcome(code.exitStatus(), code.name());
        }
    }

    /**
     * Runs the command line with the given streams (the entry point used by tests).
     *
     * @param args the arguments
     * @param in standard input
     * @param out standard output
     * @param err standard error
     * @return the exit status: 0 after success, else the one the error's code gives
     */
    public static int run(String[] args, InputStream in, PrintStream out, PrintStream err) {
        return execute(args, in, out, err).status();
    }

    /**
     * Runs the command line with the given streams and returns its exit status with the
     * canonical code of its error (the edge of tests/CONTRACT.md, "Errors": the code decides the
     * status; {@code run-cases} answers both).
     *
     * <p>A {@link StatusException} anywhere in the cause chain gives its code; picocli's
     * parameter errors (unknown flag, missing or unconvertible value) are
     * {@link Code#INVALID_ARGUMENT}; any other throwable is {@link Code#INTERNAL}. Each error is
     * one line {@code java_consumer: error: <message>} on {@code err}.
     *
     * @param args the arguments
     * @param in standard input
     * @param out standard output
     * @param err standard error
     * @return the exit status and the code's name ({@value Code#OK} after success)
     */
    public static Outcome execute(String[] args, InputStream in, PrintStream out, PrintStream err) {
        Code[] failed = new Code[1];
        try {
            CommandLine cl = new CommandLine(new Main(), new Factory(in, out, err));
            cl.setOut(new java.io.PrintWriter(out, true));
            cl.setErr(new java.io.PrintWriter(err, true));
            cl.setParameterExceptionHandler((ex, a) -> {
                err.println(NAME + ": error: " + Json.oneLine(Echo.boundArguments(ex.getMessage(), a)));
                failed[0] = Code.INVALID_ARGUMENT;
                return failed[0].exitStatus();
            });
            cl.setExecutionExceptionHandler((ex, c, parsed) -> {
                failed[0] = report(ex, err);
                return failed[0].exitStatus();
            });
            int status = cl.execute(args);
            if (failed[0] != null) {
                return Outcome.of(failed[0]);
            }
            return status == 0 ? Outcome.OK : Outcome.of(Code.INTERNAL);
        } catch (Throwable t) {
            return Outcome.of(report(t, err));
        }
    }

    /** Prints the one error line for any throwable and returns its code. */
    private static Code report(Throwable t, PrintStream err) {
        if (System.getenv("JAVA_CONSUMER_DEBUG") != null) {
            t.printStackTrace(err);
        }
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof StatusException se) {
                err.println(NAME + ": error: " + se.getMessage());
                return se.code();
            }
        }
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        err.println(NAME + ": error: internal error: " + Json.oneLine(root.toString()));
        return Code.INTERNAL;
    }

    @Override
    public Integer call() {
        throw StatusException.invalidArgument("a command is required: predict, inspect, serve-stdio, classify, generate, "
                + "train, bench, soak or version (see --help)");
    }

    /** Creates the subcommands with the streams of this run. */
    private static final class Factory implements CommandLine.IFactory {
        private final InputStream in;
        private final PrintStream out;
        private final PrintStream err;

        Factory(InputStream in, PrintStream out, PrintStream err) {
            this.in = in;
            this.out = out;
            this.err = err;
        }

        @Override
        public <K> K create(Class<K> cls) throws Exception {
            if (Base.class.isAssignableFrom(cls)) {
                K k = CommandLine.defaultFactory().create(cls);
                ((Base) k).in = in;
                ((Base) k).out = out;
                ((Base) k).err = err;
                return k;
            }
            return CommandLine.defaultFactory().create(cls);
        }
    }

    /** State shared by the subcommands. */
    abstract static class Base implements Callable<Integer> {
        InputStream in;
        PrintStream out;
        PrintStream err;

        @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
        boolean help;
    }

    /** Options naming a model version. */
    abstract static class ModelOptions extends Base {
        @Option(names = "--model", required = true, paramLabel = "PATH",
                description = "Model folder (highest version) or version folder.")
        String model;

        @Option(names = "--version", paramLabel = "N", description = "Version number (positive integer).")
        Long version;

        ModelLocation location() {
            return ModelLocation.resolve(model, version);
        }
    }

    /**
     * Options of the commands that load a version to run it ({@code predict}, {@code serve-stdio},
     * {@code classify}, {@code generate}, {@code train}, {@code bench}): the version is checked
     * against its {@code manifest.json} before anything reaches TensorFlow, unless
     * {@code --skip-verification} is given.
     */
    abstract static class LoadOptions extends ModelOptions {
        @Option(names = ManifestVerifier.SKIP_FLAG,
                description = "Load the version without checking its files against manifest.json (how a bare "
                        + "SavedModel without a manifest is loaded).")
        boolean skipVerification;

        @Option(names = OpScanner.ALLOW_FLAG, paramLabel = "NAME",
                description = "Accept an op that is refused by default because it can read or write files or reach "
                        + "outside the process (repeatable).")
        List<String> allowOps = new ArrayList<>();

        /**
         * Returns the ops accepted by {@code --allow-op}.
         *
         * @return the op names
         */
        Set<String> allowedOps() {
            return Set.copyOf(allowOps);
        }

        /**
         * Returns the checks opening the version makes: {@code --skip-verification} and
         * {@code --allow-op}.
         *
         * @return the checks
         */
        Model.Safety safety() {
            return new Model.Safety(!skipVerification, allowedOps());
        }
    }

    /** Options of the commands that run a signature: a verified model version and its format. */
    abstract static class RunOptions extends LoadOptions {
        @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "saved_model",
                description = "saved_model or frozen (default: ${DEFAULT-VALUE}).")
        String format;
    }

    /** {@code --max-request-bytes}: the limit of one request body. */
    static final class LimitOption {
        @Option(names = RequestBody.FLAG, paramLabel = "N", defaultValue = RequestBody.DEFAULT_MAX_BYTES_TEXT,
                converter = LimitConverter.class,
                description = "Refuse a request body larger than N bytes, reading at most N+1 (default: "
                        + "${DEFAULT-VALUE}, 64 MiB).")
        long maxRequestBytes;
    }

    /** {@code --signature} of the commands that answer requests: the key used when a request names none. */
    static final class RequestSignatureOption {
        @Option(names = "--signature", paramLabel = "KEY", defaultValue = DEFAULT_SIGNATURE,
                description = "Signature key when a request has no signature_name (default: ${DEFAULT-VALUE}).")
        String signature;
    }

    /** {@code --input}: the file of the one request a command reads. */
    static final class InputOption {
        @Option(names = "--input", paramLabel = "FILE", defaultValue = "-",
                description = "Request file, - for stdin (default).")
        String input;
    }

    /**
     * Reads the request of {@code --input}: stdin for {@code -}, else the file; at most
     * {@code max + 1} bytes either way.
     */
    static byte[] readRequest(String input, InputStream in, long max) {
        if ("-".equals(input)) {
            try {
                return RequestBody.read(in, max);
            } catch (IOException e) {
                throw StatusException.invalidArgument("cannot read --input '-': " + e.getMessage());
            }
        }
        try (InputStream f = Files.newInputStream(Paths.get(input))) {
            return RequestBody.read(f, max);
        } catch (java.nio.file.NoSuchFileException e) {
            throw StatusException.notFound("cannot read --input " + Echo.quotedSingle(input) + ": no such file");
        } catch (IOException | java.nio.file.InvalidPathException e) {
            throw StatusException.invalidArgument("cannot read --input " + Echo.quotedSingle(input) + ": " + e.getMessage());
        }
    }

    /** {@code predict}: answers one request. */
    @Command(name = "predict", description = "Answer one TensorFlow Serving REST predict request.")
    static final class Predict extends RunOptions {
        @CommandLine.Mixin
        RequestSignatureOption request;

        @CommandLine.Mixin
        InputOption input;

        @Option(names = "--output", paramLabel = "FILE", defaultValue = "-",
                description = "Response file, - for stdout (default).")
        String output;

        @CommandLine.Mixin
        LimitOption limit;

        @Override
        public Integer call() throws IOException {
            Model.Format fmt = Model.Format.parse(format);
            ModelLocation loc = location();
            String response;
            try (Model m = Model.open(loc, fmt, safety(), List.of(request.signature), true)) {
                byte[] body = readRequest(input.input, in, limit.maxRequestBytes);
                response = m.predict(body, request.signature);
            }
            writeOutput((response + "\n").getBytes(StandardCharsets.UTF_8));
            return 0;
        }

        private void writeOutput(byte[] bytes) throws IOException {
            if ("-".equals(output)) {
                out.write(bytes);
                out.flush();
                return;
            }
            Path p;
            try {
                p = Paths.get(output);
            } catch (java.nio.file.InvalidPathException e) {
                throw StatusException.invalidArgument("invalid --output " + Echo.quotedSingle(output) + ": " + e.getMessage());
            }
            try {
                Files.write(p, bytes);
            } catch (IOException e) {
                throw StatusException.invalidArgument("cannot write --output " + Echo.quotedSingle(output) + ": " + e.getMessage());
            }
        }
    }

    /** {@code inspect}: describes a model version. */
    @Command(name = "inspect", description = "Describe a model version's signatures.")
    static final class Inspect extends ModelOptions {
        @Option(names = "--json", description = "Write JSON instead of text.")
        boolean json;

        @Override
        public Integer call() {
            ModelLocation loc = location();
            SavedModelInfo info = SavedModelInfo.read(loc.dir(), loc.shown());
            Manifest manifest = Manifest.readIfPresent(loc.dir(), loc.shown());
            Inspector report = new Inspector(loc, info, manifest, TfSession.runtimeVersion());
            out.print(json ? report.json() + "\n" : report.text());
            out.flush();
            return 0;
        }
    }

    /** {@code serve-stdio}: one request per line in, one response per line out. */
    @Command(name = "serve-stdio", description = "Load the model once, then answer one JSON request per stdin line "
            + "with one JSON response line on stdout (blank lines are skipped; a line longer than "
            + "--max-request-bytes is answered with an error and skipped).")
    static final class ServeStdio extends RunOptions {
        @CommandLine.Mixin
        RequestSignatureOption request;

        @CommandLine.Mixin
        LimitOption limit;

        @Override
        public Integer call() throws IOException {
            Model.Format fmt = Model.Format.parse(format);
            ModelLocation loc = location();
            try (Model m = Model.open(loc, fmt, safety(), List.of(request.signature), true)) {
                m.warmUp(request.signature);
                RequestBody.LineReader lines = new RequestBody.LineReader(in, limit.maxRequestBytes);
                RequestBody.Line line;
                while ((line = lines.next()) != null) {
                    if (line.tooLong()) {
                        out.write((Json.errorBody(RequestBody.tooLargeMessage(limit.maxRequestBytes)) + "\n")
                                .getBytes(StandardCharsets.UTF_8));
                        out.flush();
                        continue;
                    }
                    if (new String(line.body(), StandardCharsets.ISO_8859_1).isBlank()) {
                        continue;
                    }
                    String response;
                    try {
                        response = m.predict(line.body(), request.signature);
                    } catch (StatusException e) {
                        response = Json.errorBody(e.getMessage());
                    } catch (RuntimeException e) {
                        response = Json.errorBody("internal error: " + Json.oneLine(e.toString()));
                    }
                    out.write((response + "\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                }
            }
            return 0;
        }
    }

    /** {@code classify}: one columnar request of encoded images, one summary line per image. */
    @Command(name = "classify", description = {"Classify encoded images (e.g. PNG) with a signature that has one "
            + "DT_STRING rank-1 input and the outputs class_id (integer, rank 1) and probabilities (floating, "
            + "rank 2), through the same path as predict.",
        "Prints one line per IMAGE, in order: IMAGE<TAB>class_id=<c><TAB>probability=<probabilities[i][c]>."})
    static final class Classify extends RunOptions {
        @Option(names = "--signature", paramLabel = "KEY", defaultValue = DEFAULT_SIGNATURE,
                description = "Signature key (default: ${DEFAULT-VALUE}).")
        String signature;

        @Parameters(paramLabel = "IMAGE", arity = "1..*", description = "Image files, one request element each.")
        List<String> images;

        @Override
        public Integer call() throws IOException {
            Model.Format fmt = Model.Format.parse(format);
            ModelLocation loc = location();
            List<String> lines;
            try (Model m = Model.open(loc, fmt, safety(), List.of(signature), false)) {
                String alias = Conveniences.classifyInput(m.signature(signature));
                List<byte[]> bytes = new ArrayList<>(images.size());
                for (String image : images) {
                    bytes.add(readImage(image));
                }
                String response = m.predict(Conveniences.classifyRequest(signature, alias, bytes), signature);
                lines = Conveniences.classifySummary(response, images.size());
            }
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < images.size(); i++) {
                b.append(images.get(i)).append('\t').append(lines.get(i)).append('\n');
            }
            out.write(b.toString().getBytes(StandardCharsets.UTF_8));
            out.flush();
            return 0;
        }

        private static byte[] readImage(String image) {
            try {
                return Files.readAllBytes(Paths.get(image));
            } catch (java.nio.file.NoSuchFileException e) {
                throw StatusException.notFound("cannot read IMAGE " + Echo.quotedSingle(image) + ": no such file");
            } catch (java.nio.file.AccessDeniedException e) {
                throw StatusException.invalidArgument("cannot read IMAGE " + Echo.quotedSingle(image) + ": permission denied");
            } catch (IOException | java.nio.file.InvalidPathException e) {
                throw StatusException.invalidArgument("cannot read IMAGE " + Echo.quotedSingle(image) + ": " + e.getMessage());
            }
        }
    }

    /** {@code generate}: one prefix in, the prefix and its continuation out. */
    @Command(name = "generate", description = {"Continue a text with a signature that has the inputs prefix "
            + "(DT_STRING, rank 1) and length (DT_INT32 scalar) and the output continuation (DT_STRING, rank 1), "
            + "through the same path as predict.",
        "Writes the bytes of TEXT, then those of continuation[0], then a newline."})
    static final class Generate extends RunOptions {
        @Option(names = "--signature", paramLabel = "KEY", defaultValue = Conveniences.GENERATE_SIGNATURE,
                description = "Signature key (default: ${DEFAULT-VALUE}).")
        String signature;

        @Option(names = "--prefix", paramLabel = "TEXT", required = true,
                description = "The text to continue (sent as UTF-8).")
        String prefix;

        @Option(names = "--length", paramLabel = "N", defaultValue = "100",
                description = "Length of the continuation, 0..10000 (default: ${DEFAULT-VALUE}).")
        long length;

        @Override
        public Integer call() throws IOException {
            Model.Format fmt = Model.Format.parse(format);
            Conveniences.checkLength(length);
            ModelLocation loc = location();
            byte[] continuation;
            try (Model m = Model.open(loc, fmt, safety(), List.of(signature), false)) {
                SignatureSpec sig = m.signature(signature);
                Conveniences.checkGenerateSignature(sig);
                String response = m.predict(Conveniences.generateRequest(signature, prefix, length), signature);
                continuation = Conveniences.continuation(response, sig);
            }
            out.write(prefix.getBytes(StandardCharsets.UTF_8));
            out.write(continuation);
            out.write('\n');
            out.flush();
            return 0;
        }
    }

    /** {@code train}: runs a model's train signature over CSV data and publishes the next version. */
    @Command(name = "train", description = {"Train a model version that has a training section in its manifest: run "
            + "its train signature over CSV data (batches in row order, wrapping around), checkpoint through the "
            + "SavedModel's saver, and publish the trained variables as the model's next version.",
        "Prints 'step: S, loss: L' lines and a 'final:' line on stdout; the throughput and the exported folder on "
            + "stderr."})
    static final class Train extends LoadOptions {
        @Option(names = "--data", required = true, paramLabel = "PATH",
                description = "A CSV file, or a folder whose *.csv files are read in byte order of their names.")
        String data;

        @Option(names = "--steps", required = true, paramLabel = "N", description = "Training steps to run (>= 1).")
        long steps;

        @Option(names = "--batch-size", paramLabel = "B", defaultValue = "64",
                description = "Rows per step (default: ${DEFAULT-VALUE}).")
        int batchSize;

        @Option(names = "--learning-rate", paramLabel = "R", defaultValue = "0.1",
                description = "Learning rate, a decimal literal whose float32 is finite and > 0 (default: ${DEFAULT-VALUE}).")
        String learningRate;

        @Option(names = "--checkpoint-every", paramLabel = "K", defaultValue = "0",
                description = "Save a checkpoint every K steps (default: ${DEFAULT-VALUE}: only at the end).")
        long checkpointEvery;

        @Option(names = "--checkpoint-dir", paramLabel = "DIR",
                description = "Checkpoint folder (default: <model folder>/checkpoints).")
        String checkpointDir;

        @Option(names = "--resume", description = "Restore the newest checkpoint of the checkpoint folder first.")
        boolean resume;

        @Option(names = "--log-every", paramLabel = "L", defaultValue = "100",
                description = "Print the loss every L steps (default: ${DEFAULT-VALUE}).")
        long logEvery;

        @Override
        public Integer call() {
            Trainer.Options options = new Trainer.Options(steps, batchSize, learningRate, checkpointEvery,
                    checkpointDir, resume, logEvery, skipVerification, allowedOps());
            Trainer.train(model, version, data, options, out, err);
            return 0;
        }
    }

    /** {@code bench}: times the predict loop in-process and prints one JSON object. */
    @Command(name = "bench", description = {"Time the consumer's own predict loop in-process: for each batch size, "
            + "generated inputs (built once), a warm-up of 10 calls or 0.2 s, then calls timed one by one until "
            + "--seconds have passed (at least 5 calls).",
        "Prints one JSON object: runtime, tensorflow_version, model, signature, format, thread settings and, per "
            + "batch size, calls, median_us, p99_us (nearest rank), mean_us and rows_per_second."})
    static final class BenchCommand extends RunOptions {
        @Option(names = "--signature", paramLabel = "KEY", defaultValue = DEFAULT_SIGNATURE,
                description = "Signature key (default: ${DEFAULT-VALUE}).")
        String signature;

        @Option(names = "--batch-sizes", paramLabel = "B,B,...",
                defaultValue = Bench.DEFAULT_BATCH_SIZES,
                description = "Comma-separated batch sizes, run in order (default: ${DEFAULT-VALUE}).")
        String batchSizes;

        @Option(names = "--seconds", paramLabel = "S", defaultValue = "2",
                description = "Measured time per batch size, > 0 (default: ${DEFAULT-VALUE}).")
        double seconds;

        @Option(names = "--intra-op-threads", paramLabel = "N", defaultValue = "0",
                description = "ConfigProto.intra_op_parallelism_threads; 0: TensorFlow's choice (default).")
        int intraOpThreads;

        @Option(names = "--inter-op-threads", paramLabel = "N", defaultValue = "0",
                description = "ConfigProto.inter_op_parallelism_threads; 0: TensorFlow's choice (default).")
        int interOpThreads;

        @Override
        public Integer call() {
            Model.Format fmt = Model.Format.parse(format);
            var options = new Bench.Options(signature, fmt,
                    Bench.parseBatchSizes(batchSizes), seconds, intraOpThreads,
                    interOpThreads);
            ModelLocation loc = location();
            String json = Bench.run(loc, options, safety());
            out.print(json + "\n");
            out.flush();
            return 0;
        }
    }

    /** {@code soak}: the predict path and load/close cycles in a loop, resident set size before and after. */
    @Command(name = "soak", description = {"Measure whether the consumer leaks: read one request (as predict), open the "
            + "version (verification, unsafe-op check, session), answer the request 1000 times as warm-up, read the "
            + "resident set size, answer it --predictions more times, read it again and close the version; then open, "
            + "answer once and close the version 10 times as warm-up, read the resident set size, do it --load-cycles "
            + "more times and read it again.",
        "Every answer is the whole predict path (parse, decode, run, encode). The resident set size is VmRSS of "
            + "/proc/self/status in KiB, read right after a garbage collection (System.gc) and malloc_trim. Prints "
            + "one JSON object: runtime, tensorflow_version, model, signature, format, predictions, "
            + "predictions_rss_kib, predictions_seconds, load_cycles, load_cycles_rss_kib, load_cycles_seconds.",
        "The JVM's heap sizing and JIT compiler move the resident set size too; for soak the launcher runs the JVM "
            + "with -Xms64m -Xmx64m -XX:+AlwaysPreTouch -XX:TieredStopAtLevel=1 (JAVA_CONSUMER_SOAK_OPTS replaces "
            + "these; JAVA_CONSUMER_OPTS comes after them)."})
    static final class SoakCommand extends RunOptions {
        @CommandLine.Mixin
        RequestSignatureOption request;

        @CommandLine.Mixin
        InputOption input;

        @Option(names = "--predictions", paramLabel = "N", defaultValue = "100000",
                description = "Measured predictions, > 0 (default: ${DEFAULT-VALUE}).")
        long predictions;

        @Option(names = "--load-cycles", paramLabel = "M", defaultValue = "200",
                description = "Measured open/answer/close cycles, > 0 (default: ${DEFAULT-VALUE}).")
        long loadCycles;

        @Override
        public Integer call() {
            Model.Format fmt = Model.Format.parse(format);
            Soak.checkCounts(predictions, loadCycles);
            ModelLocation.resolve(model, version); // a bad path is refused before stdin is read
            byte[] body = readRequest(input.input, in, RequestBody.DEFAULT_MAX_BYTES);
            var options = new Soak.Options(request.signature, fmt, predictions, loadCycles, safety());
            // Every open resolves and (unless --skip-verification) verifies the version again.
            String json = Soak.run(this::location, body, options);
            out.print(json + "\n");
            out.flush();
            return 0;
        }
    }

    /** {@code version}: prints the consumer and TensorFlow versions. */
    @Command(name = "version", description = "Print the consumer version and the TensorFlow runtime version.")
    static final class Version extends Base {
        @Override
        public Integer call() {
            out.println(NAME + " " + SharedData.consumerVersion() + " TensorFlow " + TfSession.runtimeVersion());
            out.flush();
            return 0;
        }
    }

    /** {@code run-cases}: the harness's long-lived test mode (see {@link CaseRunner}). */
    @Command(name = "run-cases", description = "Test mode: one JSON case {\"argv\": [...], \"stdin\": \"<base64>\"} "
            + "per stdin line, each answered by one JSON line (exit status, code, stdout, stderr); tests/CONTRACT.md.")
    static final class RunCases extends Base {
        @Override
        public Integer call() throws IOException {
            // The answers go to `out` (file descriptor 1); anything a library prints with
            // System.out goes to stderr instead of into the stream.
            System.setOut(System.err);
            return CaseRunner.serve(in, out);
        }
    }
}
