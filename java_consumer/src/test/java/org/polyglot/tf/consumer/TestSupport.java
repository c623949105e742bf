package org.polyglot.tf.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import java.util.SortedMap;

/** Helpers shared by the tests. */
final class TestSupport {

    /** The repository root (the tests run in java_consumer/). */
    static final Path REPO = Paths.get("..").toAbsolutePath().normalize();

    /** The linear model folder produced by the Python producer. */
    static final Path LINEAR = REPO.resolve("models/linear");

    private TestSupport() {
    }

    /** Whether models/linear has a complete version. */
    static boolean linearPresent() {
        return modelPresent("linear");
    }

    /** Whether models/NAME has a complete version. */
    static boolean modelPresent(String name) {
        try (var s = Files.list(REPO.resolve("models").resolve(name))) {
            return s.anyMatch(p -> Files.isRegularFile(p.resolve("saved_model.pb")));
        } catch (IOException e) {
            return false;
        }
    }

    /** The signature of models/linear: x, y DT_DOUBLE (-1, -1). */
    static SignatureSpec linearSignature() {
        return signature(Map.of("x", new TensorSpec("x", "serving_default_x:0", "DT_DOUBLE", new long[] {-1, -1})),
                Map.of("y", new TensorSpec("y", "StatefulPartitionedCall:0", "DT_DOUBLE", new long[] {-1, -1})));
    }

    static SignatureSpec signature(Map<String, TensorSpec> in, Map<String, TensorSpec> out) {
        SortedMap<String, TensorSpec> i = SignatureSpec.newSpecMap();
        i.putAll(in);
        SortedMap<String, TensorSpec> o = SignatureSpec.newSpecMap();
        o.putAll(out);
        return new SignatureSpec("serving_default", "tensorflow/serving/predict", i, o);
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Writes a parsed JSON value back as compact text (numbers keep their literal text). */
    static String write(Json.Value v) {
        return Json.compact(v);
    }

    /**
     * The outcome of one in-process command line run.
     *
     * @param status the exit status
     * @param stdout what it wrote to stdout
     * @param stderr what it wrote to stderr
     * @param code the canonical code's name of its error ({@value Code#OK} after success)
     */
    record Run(int status, String stdout, String stderr, String code) {
    }

    /** Asserts a refusal: exit status 2, nothing on stdout, and exactly one stderr line. */
    static void assertOneLineRefusal(Run r, String message) {
        assertEquals(2, r.status(), r.stderr());
        assertEquals("", r.stdout());
        assertEquals("java_consumer: error: " + message + "\n", r.stderr());
    }

    /**
     * Asserts a refusal with its code: the code's name, the exit status the table gives it,
     * nothing on stdout and exactly the one stderr line.
     */
    static void assertOneLineRefusal(Run r, Code code, String message) {
        assertEquals(code.name(), r.code(), r.stderr());
        assertEquals(code.exitStatus(), r.status(), r.stderr());
        assertEquals("", r.stdout());
        assertEquals("java_consumer: error: " + message + "\n", r.stderr());
    }

    /** The outcome of one in-process command line run, stdout as bytes. */
    record RawRun(int status, byte[] stdout, String stderr) {
    }

    /** Runs the command line in this JVM, keeping stdout's bytes. */
    static RawRun runRaw(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
                PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            status = Main.run(args, new ByteArrayInputStream(new byte[0]), o, e);
        }
        return new RawRun(status, out.toByteArray(), err.toString(StandardCharsets.UTF_8));
    }

    /** Runs the command line in this JVM. */
    static Run run(byte[] stdin, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Main.Outcome outcome;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
                PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            outcome = Main.execute(args, new ByteArrayInputStream(stdin), o, e);
        }
        return new Run(outcome.status(), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8),
                outcome.code());
    }
}
