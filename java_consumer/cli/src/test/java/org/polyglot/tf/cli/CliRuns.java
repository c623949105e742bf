package org.polyglot.tf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.polyglot.tf.internal.Code;

/** Runs of the command line inside the test's JVM, and the assertions on their outcome. */
final class CliRuns {

    private CliRuns() {
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
