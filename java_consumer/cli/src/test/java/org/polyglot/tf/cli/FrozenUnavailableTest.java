package org.polyglot.tf.cli;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.polyglot.tf.internal.Code;
import org.polyglot.tf.internal.Json;
import org.polyglot.tf.internal.Manifest;
import org.polyglot.tf.internal.Model;
import org.polyglot.tf.internal.ModelLocation;
import org.polyglot.tf.internal.StatusException;
import org.polyglot.tf.internal.TestSupport;
import org.polyglot.tf.internal.VersionWriter;

/**
 * {@code --format frozen} on a signature that {@code manifest.json} lists without a
 * {@code frozen} entry (tests/CONTRACT.md, "manifest.json"): every command and the library API
 * refuse it with {@code signature "KEY" has no frozen graph (REASON); use --format saved_model},
 * REASON the manifest's {@code frozen_unavailable}, bounded like every echoed value.
 */
class FrozenUnavailableTest {

    private static final String SUFFIX = "; use --format saved_model";
    private static final String REQUEST = "{\"instances\": [[1.0], [2.0]]}";

    @TempDir
    Path temp;

    /**
     * A copy of the newest models/linear version whose manifest has no "frozen" for
     * serving_default, and "frozen_unavailable" when {@code reason} is not null. manifest.json is
     * not among its own "files", so the copy still verifies.
     */
    private Path unfrozenCopy(String reason) throws IOException {
        assumeTrue(TestSupport.linearPresent(), "models/linear is absent: run the Python producer first");
        Path source = ModelLocation.resolve(TestSupport.LINEAR.toString(), null).dir();
        Path copy = temp.resolve("linear").resolve("1");
        Files.createDirectories(copy.getParent());
        VersionWriter.copyTree(source, copy);
        Path manifest = copy.resolve(Manifest.FILE_NAME);
        Json.Obj root = (Json.Obj) Json.parse(Files.readAllBytes(manifest));
        Map<String, Json.Value> top = new LinkedHashMap<>(root.members());
        Map<String, Json.Value> sigs = new LinkedHashMap<>(((Json.Obj) top.get("signatures")).members());
        Map<String, Json.Value> sig = new LinkedHashMap<>(((Json.Obj) sigs.get("serving_default")).members());
        assumeTrue(sig.containsKey("saved_model") && sig.containsKey("frozen"), "unexpected linear manifest");
        sig.remove("frozen");
        if (reason != null) {
            sig.put("frozen_unavailable", new Json.Str(reason));
        }
        sigs.put("serving_default", new Json.Obj(sig));
        top.put("signatures", new Json.Obj(sigs));
        Files.writeString(manifest, TestSupport.write(new Json.Obj(top)));
        return copy;
    }

    private static String expected(String reasonText) {
        return "signature \"serving_default\" has no frozen graph" + (reasonText == null ? "" : " (" + reasonText + ")")
                + SUFFIX;
    }

    static Stream<Arguments> commands() {
        return Stream.of(
                Arguments.of("predict", List.of()),
                Arguments.of("classify", List.of("image.png")),
                Arguments.of("generate", List.of("--signature", "serving_default", "--prefix", "a")),
                Arguments.of("bench", List.of("--seconds", "0.01")),
                Arguments.of("soak", List.of("--predictions", "1", "--load-cycles", "1")));
    }

    private CliRuns.Run run(Path version, String command, List<String> extra, String... more) {
        List<String> args = new ArrayList<>(List.of(command, "--model", version.toString(), "--format", "frozen"));
        args.addAll(extra);
        args.addAll(List.of(more));
        return CliRuns.run(TestSupport.utf8(REQUEST + "\n"), args.toArray(String[]::new));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("commands")
    void everyCommandRefusesWithoutAReason(String command, List<String> extra) throws IOException {
        Path v = unfrozenCopy(null);
        CliRuns.assertOneLineRefusal(run(v, command, extra), Code.NOT_FOUND, expected(null));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("commands")
    void everyCommandRefusesWithTheManifestsReason(String command, List<String> extra) throws IOException {
        String reason = "convert_variables_to_constants_v2 left inputs that are not signature inputs: unknown:0 "
                + "(resource), a resource such as a lookup table that cannot become a constant";
        Path v = unfrozenCopy(reason);
        CliRuns.assertOneLineRefusal(run(v, command, extra), Code.NOT_FOUND, expected(reason));
    }

    @Test
    void aLongReasonIsBounded() throws IOException {
        String reason = "\ud83d\ude00".repeat(150) + "x".repeat(150);
        Path v = unfrozenCopy(reason);
        String bounded = "\ud83d\ude00".repeat(150) + "x".repeat(50) + "... (300 characters)";
        CliRuns.assertOneLineRefusal(run(v, "predict", List.of()), expected(bounded));
    }

    @Test
    void anEmptyReasonIsNoReason() throws IOException {
        Path v = unfrozenCopy("");
        CliRuns.assertOneLineRefusal(run(v, "predict", List.of()), expected(null));
    }

    @Test
    void serveStdioAnswersEachLineWithTheRefusal() throws IOException {
        Path v = unfrozenCopy("why");
        CliRuns.Run r = CliRuns.run(TestSupport.utf8(REQUEST + "\n" + REQUEST + "\n"), "serve-stdio", "--model",
                v.toString(), "--format", "frozen");
        assertEquals(0, r.status(), r.stderr());
        String line = Json.errorBody(expected("why")) + "\n";
        assertEquals(line + line, r.stdout());
    }

    @Test
    void anUnknownKeyIsStillNotFound() throws IOException {
        Path v = unfrozenCopy("why");
        CliRuns.Run r = run(v, "predict", List.of(), "--signature", "other");
        CliRuns.assertOneLineRefusal(r, Code.NOT_FOUND, "signature \"other\" not found; available signatures: none");
    }

    @Test
    void theSavedModelStillRuns() throws IOException {
        Path v = unfrozenCopy("why");
        CliRuns.Run r = CliRuns.run(TestSupport.utf8(REQUEST), "predict", "--model", v.toString());
        assertEquals(0, r.status(), r.stderr());
        assertEquals("", r.stderr());
    }

    @Test
    void theLibraryApiRefusesTheSame() throws IOException {
        Path v = unfrozenCopy("why");
        ModelLocation loc = ModelLocation.resolve(v.toString(), null);
        try (Model m = Model.open(loc, Model.Format.FROZEN, new Model.Safety(false, java.util.Set.of()), List.of(), false)) {
            assertEquals("why", m.manifest().frozenUnavailable("serving_default"));
            assertDoesNotThrow(() -> m.warmUp("serving_default"));
            StatusException e = assertThrows(StatusException.class, () -> m.signature("serving_default"));
            assertEquals(expected("why"), e.getMessage());
            assertEquals(Code.NOT_FOUND, e.code());
            e = assertThrows(StatusException.class, () -> m.session("serving_default"));
            assertEquals(expected("why"), e.getMessage());
            e = assertThrows(StatusException.class, () -> m.predict(TestSupport.utf8(REQUEST), "serving_default"));
            assertEquals(expected("why"), e.getMessage());
            e = assertThrows(StatusException.class, () -> m.session("other"));
            assertEquals("signature \"other\" not found; available signatures: none", e.getMessage(),
                    "the signatures that have a frozen graph");
            assertEquals(Code.NOT_FOUND, e.code());
        }
    }
}
