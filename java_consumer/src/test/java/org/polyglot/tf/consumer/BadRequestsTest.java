package org.polyglot.tf.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The shared refusal cases of {@code tests/cases/bad_requests.json}: every case through the
 * command line (in this JVM; refusals never load TensorFlow), and the request-level cases
 * directly against the decoder.
 */
class BadRequestsTest {

    private static final Path CASES = TestSupport.REPO.resolve("tests/cases/bad_requests.json");

    @TempDir
    Path temp;

    /** One case of the file. */
    record Case(String id, Json.Obj doc) {
        @Override
        public String toString() {
            return id;
        }

        String str(String key) {
            return doc.get(key) instanceof Json.Str s ? s.value() : null;
        }

        List<String> list(String key) {
            List<String> out = new ArrayList<>();
            if (doc.get(key) instanceof Json.Arr a) {
                a.items().forEach(v -> out.add(((Json.Str) v).value()));
            }
            return out;
        }

        /** The request bytes, in the forms the case file's description lists. */
        byte[] body() {
            String b64 = str("body_base64");
            if (b64 != null) {
                return java.util.Base64.getDecoder().decode(b64);
            }
            if (doc.get("json_depth") instanceof Json.Num n) {
                int arrays = Integer.parseInt(n.text()) - 1;
                return TestSupport.utf8("{\"instances\": " + "[".repeat(arrays) + "1.0" + "]".repeat(arrays) + "}");
            }
            String raw = str("body");
            byte[] body = TestSupport.utf8(raw != null ? raw : TestSupport.write(doc.get("request")));
            if (doc.get("body_padding") instanceof Json.Num n) {
                byte[] padded = java.util.Arrays.copyOf(body, body.length + Integer.parseInt(n.text()));
                java.util.Arrays.fill(padded, body.length, padded.length, (byte) ' ');
                return padded;
            }
            return body;
        }
    }

    static Stream<Case> cases() throws IOException {
        assumeTrue(Files.isRegularFile(CASES), CASES + " is missing");
        Json.Obj root = (Json.Obj) Json.parse(Files.readAllBytes(CASES));
        return ((Json.Arr) root.get("cases")).items().stream()
                .map(v -> new Case(((Json.Str) ((Json.Obj) v).get("id")).value(), (Json.Obj) v));
    }

    private String modelPath(Case c) throws IOException {
        String given = c.str("model_path");
        if (given == null) {
            assumeTrue(TestSupport.linearPresent(), "models/" + c.str("model")
                    + " is absent: run the Python producer (make models) first");
            return TestSupport.REPO.resolve("models").resolve(c.str("model")).toString();
        }
        switch (given) {
            case "@missing":
                return temp.resolve("does-not-exist").toString();
            case "@empty_dir":
                return Files.createDirectories(temp.resolve("empty")).toString();
            default:
                return given;
        }
    }

    private static void assertOneLine(Case c, String stderr, String prefix) {
        String[] lines = stderr.split("\n", -1);
        assertEquals(2, lines.length, "exactly one line: " + stderr);
        assertEquals("", lines[1]);
        assertTrue(lines[0].startsWith(prefix), lines[0]);
        for (String want : c.list("stderr_contains")) {
            assertTrue(lines[0].toLowerCase(Locale.ROOT).contains(want.toLowerCase(Locale.ROOT)),
                    c.id() + ": '" + want + "' not in: " + lines[0]);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void commandLineRefuses(Case c) throws IOException {
        List<String> args = new ArrayList<>(List.of("predict", "--model", modelPath(c)));
        args.addAll(c.list("args"));
        TestSupport.Run r = TestSupport.run(c.body(), args.toArray(new String[0]));
        assertEquals(2, r.status(), c.id() + ": " + r.stderr());
        assertEquals("", r.stdout());
        assertOneLine(c, r.stderr(), "java_consumer: error: ");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void decoderRefuses(Case c) {
        // The size limit belongs to reading the body (RequestBodyTest), not to the decoder.
        boolean requestLevel = "linear".equals(c.str("model")) && c.list("args").isEmpty()
                && c.doc().get("body_padding") == null
                && !(c.doc().get("request") instanceof Json.Obj o && o.get("signature_name") instanceof Json.Str);
        assumeTrue(requestLevel, "not a request-level case");
        ConsumerException e = assertThrows(ConsumerException.class,
                () -> PredictRequest.parse(c.body()).decode(TestSupport.linearSignature()));
        assertEquals(ConsumerException.REFUSAL, e.exitStatus());
        assertOneLine(c, e.getMessage() + "\n", "");
    }
}
