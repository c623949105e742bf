package org.polyglot.tf.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.polyglot.tf.internal.TestSupport.utf8;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.polyglot.tf.internal.Code;
import org.polyglot.tf.internal.Json;
import org.polyglot.tf.internal.PredictRequest;
import org.polyglot.tf.internal.RequestBody;
import org.polyglot.tf.internal.SignatureSpec;
import org.polyglot.tf.internal.StatusException;
import org.polyglot.tf.internal.TensorSpec;
import org.polyglot.tf.internal.TestSupport;

/**
 * The request limits of tests/CONTRACT.md ("Limits"): {@code --max-request-bytes}, strict UTF-8,
 * nesting at most 1000 deep; and the columnar batch agreement rule ("Batch size").
 */
class RequestLimitsTest {

    private static String refusal(Runnable r) {
        return refusal(Code.INVALID_ARGUMENT, r);
    }

    private static String refusal(Code code, Runnable r) {
        StatusException e = assertThrows(StatusException.class, r::run);
        assertEquals(code, e.code(), e.getMessage());
        return e.getMessage();
    }

    /** A stream of {@code n} bytes {@code b} that counts how many were read. */
    private static final class CountingStream extends InputStream {
        private final long n;
        private final byte b;
        long read;

        CountingStream(long n, byte b) {
            this.n = n;
            this.b = b;
        }

        @Override
        public int read() {
            if (read >= n) {
                return -1;
            }
            read++;
            return b;
        }

        @Override
        public int read(byte[] buf, int off, int len) {
            if (read >= n) {
                return -1;
            }
            int k = (int) Math.min(len, n - read);
            Arrays.fill(buf, off, off + k, b);
            read += k;
            return k;
        }
    }

    // --- --max-request-bytes ---------------------------------------------------------------

    @Test
    void bodyAtTheLimitIsRead() throws IOException {
        byte[] body = utf8("{\"instances\": [[1.0]]}");
        assertArrayEquals(body, RequestBody.read(new ByteArrayInputStream(body), body.length));
        assertArrayEquals(body, RequestBody.read(new ByteArrayInputStream(body), RequestBody.DEFAULT_MAX_BYTES));
        assertArrayEquals(new byte[0], RequestBody.read(new ByteArrayInputStream(new byte[0]), 1));
    }

    @Test
    void bodyOverTheLimitIsRefusedAfterOneByteMore() {
        for (long max : new long[] {1, 16, 65_535, 65_536, 65_537, 200_000}) {
            CountingStream s = new CountingStream(10_000_000, (byte) ' ');
            String msg = refusal(Code.RESOURCE_EXHAUSTED, () -> {
                try {
                    RequestBody.read(s, max);
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            });
            assertEquals("request is larger than the limit of " + max + " bytes (--max-request-bytes)", msg);
            assertEquals(max + 1, s.read, "bytes read for a limit of " + max);
        }
    }

    @Test
    void flagTakesPositiveIntegersOnly() {
        LimitConverter c = new LimitConverter();
        assertEquals(1L, c.convert("1"));
        assertEquals(67_108_864L, c.convert("67108864"));
        assertEquals(Long.MAX_VALUE - 1, c.convert("99999999999999999999999"));
        for (String bad : new String[] {"0", "-1", "lots", "", "1.5", "+3", "1e6", "0x10"}) {
            assertThrows(picocli.CommandLine.TypeConversionException.class, () -> c.convert(bad), bad);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "-5", "lots", "1.5"})
    void badFlagIsARefusalNamingIt(String value) {
        CliRuns.Run r = CliRuns.run(utf8("{}"), "predict", "--model", "no-such-model",
                "--max-request-bytes", value);
        assertEquals(2, r.status(), r.stderr());
        assertTrue(r.stderr().startsWith("java_consumer: error: "), r.stderr());
        assertTrue(r.stderr().contains("--max-request-bytes"), r.stderr());
        assertEquals(1, r.stderr().split("\n").length, r.stderr());
    }

    @Test
    void linesAreSplitWithinTheLimit() throws IOException {
        byte[] in = utf8("abc\n\r\n12345\nxyzw\r\n" + "x".repeat(200_000) + "\nlast");
        RequestBody.LineReader lines = new RequestBody.LineReader(new ByteArrayInputStream(in), 5);
        assertEquals("abc", new String(lines.next().body()));
        assertEquals("", new String(lines.next().body()));
        assertEquals("12345", new String(lines.next().body()));
        assertEquals("xyzw", new String(lines.next().body()), "\\r\\n counts 5 bytes, within the limit");
        assertTrue(lines.next().tooLong());
        assertEquals("last", new String(lines.next().body()));
        assertNull(lines.next());
    }

    @Test
    void overLongLineIsSkippedWithoutBuffering() throws IOException {
        // 1 GiB of one line, then a short one: only the reader's fixed buffer is used for it.
        long big = 1L << 30;
        InputStream s = new java.io.SequenceInputStream(new CountingStream(big, (byte) 'x'),
                new ByteArrayInputStream(utf8("\n{\"a\": 1}\n")));
        RequestBody.LineReader lines = new RequestBody.LineReader(s, 1024);
        RequestBody.Line first = lines.next();
        assertTrue(first.tooLong());
        assertEquals("{\"a\": 1}", new String(lines.next().body()));
        assertNull(lines.next());
    }

    // --- UTF-8 -------------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = {
        "c080", // overlong NUL
        "c1bf", // overlong 2-byte
        "e08080", // overlong 3-byte
        "f0808080", // overlong 4-byte
        "eda080", // UTF-8-encoded surrogate U+D800
        "edbfbf", // U+DFFF
        "ff", "fe", "80", "bf", // bytes that start no sequence
        "e9", // Latin-1 'é'
        "f4908080", // beyond U+10FFFF
        "e282", // truncated
    })
    void invalidUtf8IsRefused(String hex) {
        byte[] prefix = utf8("{\"instances\": [[\"");
        byte[] body = HexFormat.of().parseHex(HexFormat.of().formatHex(prefix) + hex
                + HexFormat.of().formatHex(utf8("\"]]}")));
        String msg = refusal(() -> Json.parse(body));
        assertTrue(msg.startsWith("invalid JSON: body is not valid UTF-8"), msg);
        assertTrue(msg.contains("byte offset " + prefix.length), msg);
    }

    @Test
    void overlongKeyIsRefused() {
        byte[] body = HexFormat.of().parseHex("7b22696e7374616e636573223a205b5b312e305d5d2c2022c080223a20317d");
        assertTrue(refusal(() -> PredictRequest.parse(body)).startsWith("invalid JSON: body is not valid UTF-8"));
    }

    @Test
    void validUtf8IsAccepted() {
        // 2-, 3- and 4-byte forms at their edges: U+0080, U+07FF, U+0800, U+D7FF, U+E000, U+FFFF, U+10000, U+10FFFF.
        String s = "\u0080\u07ff\u0800\ud7ff\ue000\uffff\ud800\udc00\udbff\udfff";
        Json.Value v = Json.parse(utf8("[\"" + s + "\"]"));
        assertEquals(s, ((Json.Str) ((Json.Arr) v).get(0)).value());
    }

    @Test
    void byteOrderMarkAndUtf16AreRefused() {
        byte[] bom = HexFormat.of().parseHex("efbbbf5b315d");
        assertTrue(refusal(() -> Json.parse(bom)).contains("byte order mark"));
        byte[] utf16 = "[1]".getBytes(java.nio.charset.StandardCharsets.UTF_16LE);
        assertTrue(refusal(() -> Json.parse(utf16)).startsWith("invalid JSON: "));
    }

    // --- nesting -----------------------------------------------------------------------------

    private static byte[] nested(int depth) {
        return utf8("[".repeat(depth) + "]".repeat(depth));
    }

    @Test
    void depth1000IsAcceptedAnd1001Refused() {
        Json.Value v = Json.parse(nested(1000));
        int depth = 0;
        while (v instanceof Json.Arr a) {
            depth++;
            v = a.size() == 0 ? null : a.get(0);
        }
        assertEquals(1000, depth);
        String msg = refusal(() -> Json.parse(nested(1001)));
        assertTrue(msg.startsWith("invalid JSON: nesting deeper than 1000 levels"), msg);
        assertTrue(msg.contains("byte offset 1000"), msg);
        // Objects count too; brackets inside strings do not.
        String objects = "{\"a\": ".repeat(999) + "[\"[[[[{{{{\\\"\"]" + "}".repeat(999);
        assertInstanceOf(Json.Obj.class, Json.parse(utf8(objects)));
        String tooDeep = "{\"a\": ".repeat(1000) + "[1]" + "}".repeat(1000);
        assertTrue(refusal(() -> Json.parse(utf8(tooDeep))).startsWith("invalid JSON: nesting deeper than 1000"));
    }

    @Test
    void millionDeepIsRefusedWithoutRecursion() {
        String msg = refusal(() -> Json.parse(nested(1_000_000)));
        assertTrue(msg.startsWith("invalid JSON: nesting deeper than 1000 levels"), msg);
        // Unterminated, too: the depth is found before any parsing.
        String open = refusal(() -> Json.parse(utf8("{\"instances\": " + "[".repeat(1_000_000))));
        assertTrue(open.startsWith("invalid JSON: nesting deeper than 1000 levels"), open);
    }

    @Test
    void depth1000RequestReachesTheDecoder() {
        String body = "{\"instances\": " + "[".repeat(999) + "1.0" + "]".repeat(999) + "}";
        String msg = refusal(() -> PredictRequest.parse(utf8(body)).decode(TestSupport.linearSignature()));
        assertTrue(msg.contains("rank 999") && msg.contains("rank 2"), msg);
    }

    // --- batch size --------------------------------------------------------------------------

    private static final SignatureSpec BATCHED = TestSupport.signature(Map.of(
            "a", new TensorSpec("a", "a:0", "DT_DOUBLE", new long[] {-1, 3}),
            "b", new TensorSpec("b", "b:0", "DT_DOUBLE", new long[] {-1}),
            "c", new TensorSpec("c", "c:0", "DT_INT64", new long[] {-1}),
            "k", new TensorSpec("k", "k:0", "DT_INT64", new long[] {2}),
            "s", new TensorSpec("s", "s:0", "DT_INT32", new long[0]),
            "u", new TensorSpec("u", "u:0", "DT_FLOAT", null)),
            Map.of("y", new TensorSpec("y", "y:0", "DT_DOUBLE", new long[] {-1})));

    private static String columnar(String a, String b, String c, String k, String u) {
        return "{\"inputs\": {\"a\": " + a + ", \"b\": " + b + ", \"c\": " + c + ", \"k\": " + k + ", \"s\": 1, \"u\": "
                + u + "}}";
    }

    @Test
    void batchedInputsMustAgree() {
        String rows2 = "[[1, 2, 3], [4, 5, 6]]";
        // Agreeing: a, b and c have 2 rows; k (fixed dim), s (scalar) and u (unknown rank) are no batch.
        var in = PredictRequest.parse(utf8(columnar(rows2, "[1, 2]", "[1, 2]", "[7, 8]", "[[1, 2, 3]]")))
                .decode(BATCHED);
        assertNotNull(in.tensors().get("a"));
        String msg = refusal(() -> PredictRequest.parse(utf8(columnar(rows2, "[1, 2, 3]", "[1, 2]", "[7, 8]", "1")))
                .decode(BATCHED));
        assertEquals("batch size mismatch: input \"a\" has 2 rows but input \"b\" has 3; inputs whose shape starts "
                + "with -1 must have the same batch size", msg);
        // The first disagreeing input in alias order is named, against the first batched one.
        msg = refusal(() -> PredictRequest.parse(utf8(columnar(rows2, "[1, 2]", "[1]", "[7, 8]", "1")))
                .decode(BATCHED));
        assertTrue(msg.startsWith("batch size mismatch: input \"a\" has 2 rows but input \"c\" has 1;"), msg);
    }

    @Test
    void rowFormatAlwaysAgrees() {
        SignatureSpec two = TestSupport.signature(Map.of(
                "a", new TensorSpec("a", "a:0", "DT_DOUBLE", new long[] {-1, 2}),
                "b", new TensorSpec("b", "b:0", "DT_DOUBLE", new long[] {-1})),
                Map.of("y", new TensorSpec("y", "y:0", "DT_DOUBLE", new long[] {-1})));
        var in = PredictRequest.parse(utf8("{\"instances\": [{\"a\": [1, 2], \"b\": 1}, {\"a\": [3, 4], \"b\": 2}]}"))
                .decode(two);
        assertEquals(2, in.batchSize());
    }

    // --- serve-stdio -------------------------------------------------------------------------

    @Test
    void serveStdioAnswersOverLongLinesAndGoesOn() {
        assumeTrue(TestSupport.linearPresent(), "models/linear is absent: run make models first");
        String ok = "{\"instances\": [[1.0]]}";
        byte[] in = utf8(ok + "\n" + "{\"instances\": [[" + "1.0, ".repeat(100) + "1.0]]}\n" + ok + "\n");
        CliRuns.Run r = CliRuns.run(in, "serve-stdio", "--model", TestSupport.LINEAR.toString(),
                "--max-request-bytes", String.valueOf(ok.length()));
        assertEquals(0, r.status(), r.stderr());
        String[] lines = r.stdout().split("\n");
        assertEquals(3, lines.length, r.stdout());
        assertTrue(lines[0].startsWith("{\"predictions\":"), lines[0]);
        assertEquals("{\"error\":\"request is larger than the limit of " + ok.length()
                + " bytes (--max-request-bytes)\"}", lines[1]);
        assertEquals(lines[0], lines[2]);
    }
}
