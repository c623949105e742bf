package org.polyglot.tf.cli;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import org.polyglot.tf.internal.Code;
import org.polyglot.tf.internal.Echo;
import org.polyglot.tf.internal.Json;
import org.polyglot.tf.internal.StatusException;

/**
 * {@code run-cases}, the long-lived test mode (tests/CONTRACT.md, "Case runner"), after protobuf's
 * conformance testees: the harness starts the program once and sends it many cases.
 *
 * <p>Each line of standard input is one case {@code {"argv": [ARG, ...], "stdin": "<base64>"}}. It
 * runs through {@link Main#execute} (the entry point of the real command line) with the case's bytes
 * as standard input and fresh buffers as standard output and error, and is answered by one line
 * {@code {"status": N, "code": C, "stdout": "<base64>", "stderr": "<base64>"}}, flushed: the exit
 * status, the canonical code of the error ({@value Code#OK} after success; a {@code serve} or
 * {@code run-cases} case is {@code INVALID_ARGUMENT}) and the bytes written to each stream. A line that is not a
 * case is answered {@code {"error": "<message>"}}; the command ends with status 0 at end of input.
 */
final class CaseRunner {
    /** Commands a case may not run: {@code serve} never ends, {@code run-cases} would nest. */
    static final Set<String> REFUSED = Set.of("serve", "run-cases");

    private CaseRunner() {
    }

    /**
     * Answers every case line of {@code in} on {@code out}.
     *
     * @param in the case lines
     * @param out where the answers go (flushed after each)
     * @return 0 at end of input
     * @throws IOException if reading or writing the streams fails
     */
    static int serve(InputStream in, OutputStream out) throws IOException {
        LineReader lines = new LineReader(in);
        for (byte[] line = lines.next(); line != null; line = lines.next()) {
            if (isBlank(line)) {
                continue;
            }
            try (JsonGenerator g = Json.generator(out)) {
                g.writeStartObject();
                try {
                    List<String> argv = new ArrayList<>();
                    byte[] stdin = parseCase(line, argv);
                    answer(g, argv, stdin);
                } catch (StatusException e) {
                    g.writeStringField("error", e.getMessage());
                }
                g.writeEndObject();
            }
            out.write('\n');
            out.flush();
        }
        return 0;
    }

    /**
     * Whether a line holds only ASCII whitespace (space, tab, CR, VT, FF), as Go's and Python's
     * runners judge it; checked without copying a large line.
     */
    private static boolean isBlank(byte[] line) {
        for (byte b : line) {
            if (b != ' ' && b != '\t' && b != '\r' && b != 0x0b && b != '\f') {
                return false;
            }
        }
        return true;
    }

    private static void answer(JsonGenerator g, List<String> argv, byte[] stdin) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Main.Outcome outcome;
        if (!argv.isEmpty() && REFUSED.contains(argv.get(0))) {
            err.writeBytes((Main.NAME + ": error: " + argv.get(0) + " cannot run as a case; start the program\n")
                    .getBytes(StandardCharsets.UTF_8));
            outcome = Main.Outcome.of(Code.INVALID_ARGUMENT);
        } else {
            try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
                    PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
                outcome = Main.execute(argv.toArray(String[]::new), new ByteArrayInputStream(stdin), o, e);
            }
        }
        Base64.Encoder b64 = Base64.getEncoder();
        g.writeNumberField("status", outcome.status());
        g.writeStringField("code", outcome.code());
        g.writeStringField("stdout", b64.encodeToString(out.toByteArray()));
        g.writeStringField("stderr", b64.encodeToString(err.toByteArray()));
    }

    /** Reads {@code argv} into {@code argv} and returns the decoded stdin bytes of one case line. */
    private static byte[] parseCase(byte[] line, List<String> argv) {
        if (!(Json.parse(line) instanceof Json.Obj obj)) {
            throw StatusException.invalidArgument("case must be a JSON object with argv and stdin");
        }
        for (String key : obj.members().keySet()) {
            if (!key.equals("argv") && !key.equals("stdin")) {
                throw StatusException.invalidArgument("unknown case field " + Echo.quoted(key) + "; expected argv and stdin");
            }
        }
        if (!(obj.get("argv") instanceof Json.Arr arr)) {
            throw StatusException.invalidArgument("case argv must be a list of strings");
        }
        for (Json.Value v : arr.items()) {
            if (!(v instanceof Json.Str s)) {
                throw StatusException.invalidArgument("case argv must be a list of strings");
            }
            argv.add(s.value());
        }
        Json.Value stdin = obj.members().getOrDefault("stdin", new Json.Str(""));
        if (!(stdin instanceof Json.Str s)) {
            throw StatusException.invalidArgument("case stdin must be base64 text");
        }
        try {
            return Base64.getDecoder().decode(s.value());
        } catch (IllegalArgumentException e) {
            throw StatusException.invalidArgument("case stdin is not base64: " + e.getMessage());
        }
    }

    /** Splits a stream into lines (without their {@code \n}), reading it in blocks. */
    private static final class LineReader {
        private final InputStream in;
        private final byte[] block = new byte[1 << 16];
        private int pos;
        private int end;

        LineReader(InputStream in) {
            this.in = in;
        }

        /** Returns the next line, or {@code null} at end of input. */
        byte[] next() throws IOException {
            ByteArrayOutputStream line = null;
            while (true) {
                if (pos == end) {
                    end = Math.max(in.read(block), 0);
                    pos = 0;
                    if (end == 0) {
                        return line == null ? null : line.toByteArray();
                    }
                }
                int start = pos;
                while (pos < end && block[pos] != '\n') {
                    pos++;
                }
                if (line == null) {
                    line = new ByteArrayOutputStream();
                }
                line.write(block, start, pos - start);
                if (pos < end) {
                    pos++;
                    return line.toByteArray();
                }
            }
        }
    }
}
