package org.polyglot.tf.cli;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.polyglot.tf.internal.Code;
import org.polyglot.tf.internal.ManifestVerifier;
import org.polyglot.tf.internal.ModelLocation;
import org.polyglot.tf.internal.StatusException;
import org.polyglot.tf.internal.TestSupport;
import org.polyglot.tf.internal.VersionWriter;

/**
 * {@link ManifestVerifier} and {@code --skip-verification} (tests/CONTRACT.md, "Verifying a model
 * version before loading it"): the exact message of each problem, the order in which files are
 * checked, and the commands that verify (and {@code inspect}, which does not).
 */
class ManifestVerifierTest {

    private static final String SAVED_MODEL = "saved_model.pb";
    private static final String INDEX = "variables/variables.index";
    private static final String DATA = "variables/variables.data-00000-of-00001";
    private static final String SKIP_HINT = " has no manifest.json to verify; pass --skip-verification to load an "
            + "unverified model";

    @TempDir
    Path temp;

    // ------------------------------------------------------------------------------------------
    // fixture: a version folder whose manifest lists every file (hashes computed here, not by the
    // code under test)

    private static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** The files of the fixture version, by relative path. */
    private static Map<String, byte[]> contents() {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put(SAVED_MODEL, bytes(1000, 1));
        m.put(INDEX, bytes(300, 2));
        m.put(DATA, bytes(297, 3));
        m.put("golden/rows.request.json", "{\"instances\": [[1.0]]}\n".getBytes(StandardCharsets.UTF_8));
        return m;
    }

    /** Writes {@code manifest.json} listing the given entries (raw JSON values by path). */
    private static void writeManifest(Path dir, Map<String, String> entries) throws IOException {
        StringBuilder b = new StringBuilder("{\"manifest_version\": 1, \"signatures\": {}, \"files\": {");
        boolean first = true;
        for (Map.Entry<String, String> e : entries.entrySet()) {
            b.append(first ? "" : ", ").append('"').append(e.getKey()).append("\": ").append(e.getValue());
            first = false;
        }
        Files.writeString(dir.resolve("manifest.json"), b.append("}}\n").toString());
    }

    private static String entry(byte[] content) {
        return "{\"sha256\": \"" + sha256(content) + "\", \"bytes\": " + content.length + "}";
    }

    /** models/m/1 with every file of {@link #contents()} and a manifest listing them. */
    private Path version() throws IOException {
        Path dir = temp.resolve("m").resolve("1");
        Map<String, String> entries = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> e : contents().entrySet()) {
            Path f = dir.resolve(e.getKey());
            Files.createDirectories(f.getParent());
            Files.write(f, e.getValue());
            entries.put(e.getKey(), entry(e.getValue()));
        }
        writeManifest(dir, entries);
        return dir;
    }

    private static String refusal(Path dir) {
        StatusException e = assertThrows(StatusException.class, () -> ManifestVerifier.verify(dir, dir.toString()));
        assertEquals(Code.FAILED_PRECONDITION, e.code());
        return e.getMessage();
    }

    // ------------------------------------------------------------------------------------------
    // one problem at a time: the exact message

    /** Changes a verified version folder and returns the message expected from the verifier. */
    @FunctionalInterface
    interface Damage {
        String apply(Path dir) throws IOException;
    }

    static Stream<Arguments> damages() {
        List<Arguments> cases = new ArrayList<>();
        cases.add(Arguments.of("flipped byte", (Damage) dir -> {
            byte[] b = contents().get(DATA);
            b[100] ^= 0x01;
            Files.write(dir.resolve(DATA), b);
            return DATA + ": SHA-256 " + sha256(b) + " does not match manifest.json (" + sha256(contents().get(DATA))
                    + ")";
        }));
        cases.add(Arguments.of("truncated", (Damage) dir -> {
            byte[] b = contents().get(SAVED_MODEL);
            Files.write(dir.resolve(SAVED_MODEL), java.util.Arrays.copyOf(b, 600));
            return SAVED_MODEL + ": 600 bytes, manifest.json says 1000";
        }));
        cases.add(Arguments.of("grown", (Damage) dir -> {
            Files.write(dir.resolve(INDEX), new byte[] {0}, java.nio.file.StandardOpenOption.APPEND);
            return INDEX + ": 301 bytes, manifest.json says 300";
        }));
        cases.add(Arguments.of("extra file", (Damage) dir -> {
            Files.writeString(dir.resolve("variables/extra.bin"), "x");
            return "variables/extra.bin: not listed in manifest.json";
        }));
        cases.add(Arguments.of("extra hidden file", (Damage) dir -> {
            Files.writeString(dir.resolve(".hidden"), "x");
            return ".hidden: not listed in manifest.json";
        }));
        cases.add(Arguments.of("deleted file", (Damage) dir -> {
            Files.delete(dir.resolve(INDEX));
            return INDEX + ": listed in manifest.json but missing";
        }));
        cases.add(Arguments.of("no manifest", (Damage) dir -> {
            Files.delete(dir.resolve("manifest.json"));
            return dir + SKIP_HINT;
        }));
        cases.add(Arguments.of("manifest is a folder", (Damage) dir -> {
            Files.delete(dir.resolve("manifest.json"));
            Files.createDirectory(dir.resolve("manifest.json"));
            return dir + SKIP_HINT;
        }));
        cases.add(Arguments.of("manifest without files", (Damage) dir -> {
            Files.writeString(dir.resolve("manifest.json"), "{\"manifest_version\": 1}");
            return dir.resolve("manifest.json") + " has no \"files\" object to verify against";
        }));
        cases.add(Arguments.of("files is a list", (Damage) dir -> {
            Files.writeString(dir.resolve("manifest.json"), "{\"files\": []}");
            return dir.resolve("manifest.json") + " has no \"files\" object to verify against";
        }));
        cases.add(Arguments.of("manifest is a list", (Damage) dir -> {
            Files.writeString(dir.resolve("manifest.json"), "[]");
            return dir.resolve("manifest.json") + " has no \"files\" object to verify against";
        }));
        cases.add(Arguments.of("path escapes the folder", (Damage) dir -> {
            byte[] outside = TestSupport.utf8("outside");
            Files.write(dir.getParent().resolve("outside.bin"), outside);
            Map<String, String> entries = listed(dir);
            entries.put("../outside.bin", entry(outside));
            writeManifest(dir, entries);
            return "../outside.bin: listed in manifest.json but missing";
        }));
        cases.add(Arguments.of("absolute path", (Damage) dir -> {
            Path outside = Files.write(dir.getParent().resolve("abs.bin"), TestSupport.utf8("abs"));
            Map<String, String> entries = listed(dir);
            entries.put(outside.toString(), entry(TestSupport.utf8("abs")));
            writeManifest(dir, entries);
            return outside + ": listed in manifest.json but missing";
        }));
        cases.add(Arguments.of("listed folder", (Damage) dir -> {
            Map<String, String> entries = listed(dir);
            entries.put("golden", entry(new byte[0]));
            writeManifest(dir, entries);
            return "golden: listed in manifest.json but not a regular file";
        }));
        cases.add(Arguments.of("listed symbolic link", (Damage) dir -> {
            Files.createSymbolicLink(dir.resolve("link.pb"), dir.resolve(SAVED_MODEL));
            Map<String, String> entries = listed(dir);
            entries.put("link.pb", entry(contents().get(SAVED_MODEL)));
            writeManifest(dir, entries);
            return "link.pb: listed in manifest.json but not a regular file";
        }));
        cases.add(Arguments.of("entry not an object", (Damage) dir -> {
            Map<String, String> entries = listed(dir);
            entries.put(INDEX, "\"" + sha256(contents().get(INDEX)) + "\"");
            writeManifest(dir, entries);
            return INDEX + ": manifest.json entry is not an object with \"sha256\" and \"bytes\"";
        }));
        cases.add(Arguments.of("upper-case hex", (Damage) dir -> {
            Map<String, String> entries = listed(dir);
            String upper = sha256(contents().get(INDEX)).toUpperCase(java.util.Locale.ROOT);
            entries.put(INDEX, "{\"sha256\": \"" + upper + "\", \"bytes\": 300}");
            writeManifest(dir, entries);
            return INDEX + ": SHA-256 " + sha256(contents().get(INDEX)) + " does not match manifest.json (" + upper
                    + ")";
        }));
        cases.add(Arguments.of("no sha256", (Damage) dir -> {
            Map<String, String> entries = listed(dir);
            entries.put(INDEX, "{\"bytes\": 300}");
            writeManifest(dir, entries);
            return INDEX + ": SHA-256 " + sha256(contents().get(INDEX)) + " does not match manifest.json (null)";
        }));
        cases.add(Arguments.of("sha256 a number", (Damage) dir -> {
            Map<String, String> entries = listed(dir);
            entries.put(INDEX, "{\"sha256\": 1.5e300, \"bytes\": 300}");
            writeManifest(dir, entries);
            return INDEX + ": SHA-256 " + sha256(contents().get(INDEX)) + " does not match manifest.json (1.5e+300)";
        }));
        cases.add(Arguments.of("no bytes", (Damage) dir -> {
            Map<String, String> entries = listed(dir);
            entries.put(INDEX, "{\"sha256\": \"" + sha256(contents().get(INDEX)) + "\"}");
            writeManifest(dir, entries);
            return INDEX + ": 300 bytes, manifest.json says null";
        }));
        // {expected} as the catalog's "about" writes it: a string as it is, a float by "Numbers in
        // text", anything else as compact JSON; a boolean is never a size (true is not 1).
        String[][] sizes = {
            {"true", "true"}, {"false", "false"}, {"null", "null"}, {"\"300\"", "300"}, {"299.5", "299.5"},
            {"3.01e2", "301.0"}, {"1e400", "Infinity"}, {"-0", "0"}, {"[300]", "[300]"}, {"{\"n\": 300}", "{\"n\":300}"},
            {"NaN", "NaN"}};
        for (String[] s : sizes) {
            cases.add(Arguments.of("bytes " + s[0], (Damage) dir -> {
                Map<String, String> entries = listed(dir);
                entries.put(INDEX, "{\"sha256\": \"" + sha256(contents().get(INDEX)) + "\", \"bytes\": " + s[0] + "}");
                writeManifest(dir, entries);
                return INDEX + ": 300 bytes, manifest.json says " + s[1];
            }));
        }
        cases.add(Arguments.of("bytes true for a 1-byte file", (Damage) dir -> {
            Files.write(dir.resolve("one.bin"), new byte[] {7});
            Map<String, String> entries = listed(dir);
            entries.put("one.bin", "{\"sha256\": \"" + sha256(new byte[] {7}) + "\", \"bytes\": true}");
            writeManifest(dir, entries);
            return "one.bin: 1 bytes, manifest.json says true";
        }));
        return cases.stream();
    }

    /** The fixture's manifest entries (to add one to). */
    private static Map<String, String> listed(Path dir) {
        Map<String, String> entries = new LinkedHashMap<>();
        contents().forEach((k, v) -> entries.put(k, entry(v)));
        return entries;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("damages")
    void refusesWithTheContractMessage(String name, Damage damage) throws IOException {
        Path dir = version();
        assertDoesNotThrow(() -> ManifestVerifier.verify(dir, dir.toString()), "the undamaged fixture verifies");
        String expected = damage.apply(dir);
        assertEquals(expected, refusal(dir), name);
    }

    @Test
    void aSizeWrittenAsAFloatOfTheSameValueVerifies() throws IOException {
        for (String same : List.of("300.0", "3e2", "3.000E+2")) {
            Path dir = version();
            Map<String, String> entries = listed(dir);
            entries.put(INDEX, "{\"sha256\": \"" + sha256(contents().get(INDEX)) + "\", \"bytes\": " + same + "}");
            writeManifest(dir, entries);
            assertDoesNotThrow(() -> ManifestVerifier.verify(dir, dir.toString()), same);
        }
    }

    @Test
    void invalidJsonIsNamed() throws IOException {
        Path dir = version();
        for (String bad : List.of("{\"files\": {", "", "not json", "{} {}")) {
            Files.writeString(dir.resolve("manifest.json"), bad);
            String m = refusal(dir);
            assertTrue(m.startsWith(dir.resolve("manifest.json") + " is not valid JSON: "), m);
            assertTrue(m.length() > (dir.resolve("manifest.json") + " is not valid JSON: ").length(), m);
        }
    }

    // ------------------------------------------------------------------------------------------
    // what is accepted

    @Test
    void acceptsWhatPythonAccepts() throws IOException {
        Path dir = version();
        // A symbolic link the manifest does not list is not a regular file: ignored, as Python's
        // rglob + is_symlink() does.
        Files.createSymbolicLink(dir.resolve("unlisted-link"), dir.resolve(SAVED_MODEL));
        // An empty folder holds no file to list.
        Files.createDirectories(dir.resolve("empty/deeper"));
        // bytes as a float equal to the size (Python: 300 == 300.0).
        Map<String, String> entries = listed(dir);
        entries.put(INDEX, "{\"sha256\": \"" + sha256(contents().get(INDEX)) + "\", \"bytes\": 300.0}");
        writeManifest(dir, entries);
        assertDoesNotThrow(() -> ManifestVerifier.verify(dir, dir.toString()));
    }

    @Test
    void aSymbolicLinkToTheVersionFolderVerifies() throws IOException {
        Path dir = version();
        Path link = Files.createSymbolicLink(temp.resolve("m").resolve("2"), dir);
        assertDoesNotThrow(() -> ManifestVerifier.verify(link, link.toString()));
    }

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 17})
    void hashesAcrossBufferBoundaries(int size) throws IOException {
        byte[] b = bytes(size, size);
        Path f = Files.write(temp.resolve("f.bin"), b);
        assertEquals(sha256(b), ManifestVerifier.sha256(f));
    }

    // ------------------------------------------------------------------------------------------
    // order: the first file in code-point order of the '/'-separated path is named

    @Test
    void namesTheFirstProblemInPathOrder() throws IOException {
        Path dir = version();
        byte[] b = contents().get(DATA);
        b[0] ^= 0x7f;
        Files.write(dir.resolve(DATA), b);
        Files.delete(dir.resolve(SAVED_MODEL));
        Files.writeString(dir.resolve("zzz.txt"), "z");
        // golden/... < saved_model.pb < variables/... < zzz.txt
        assertEquals(SAVED_MODEL + ": listed in manifest.json but missing", refusal(dir));
        Files.writeString(dir.resolve("golden/aaa.json"), "{}");
        assertEquals("golden/aaa.json: not listed in manifest.json", refusal(dir));
    }

    @Test
    void ordersWholePathsNotComponents() throws IOException {
        Path dir = version();
        byte[] b = contents().get(DATA);
        b[0] ^= 0x7f;
        Files.write(dir.resolve(DATA), b);
        // '.' (0x2e) sorts before '/' (0x2f): "variables.txt" < "variables/variables.data-..." as
        // strings, though the component "variables" sorts before "variables.txt".
        Files.writeString(dir.resolve("variables.txt"), "v");
        assertEquals("variables.txt: not listed in manifest.json", refusal(dir));
    }

    @Test
    void ordersByCodePointNotUtf16() throws IOException {
        Path dir = version();
        Path bmp;
        Path astral;
        try {
            bmp = dir.resolve("\uff61.bin");
            astral = dir.resolve("\ud83d\ude00.bin");
            Files.writeString(astral, "a");
            Files.writeString(bmp, "b");
        } catch (InvalidPathException | IOException e) {
            assumeTrue(false, "the file system or locale cannot name non-ASCII files: " + e);
            return;
        }
        // U+FF61 < U+1F600 by code point; in UTF-16 units 0xD83D < 0xFF61.
        assertEquals("\uff61.bin: not listed in manifest.json", refusal(dir));
    }

    // ------------------------------------------------------------------------------------------
    // the commands

    static Stream<Arguments> commands() {
        return Stream.of(
                Arguments.of("predict", List.of()),
                Arguments.of("serve-stdio", List.of()),
                Arguments.of("classify", List.of("image.png")),
                Arguments.of("generate", List.of("--prefix", "a")),
                Arguments.of("bench", List.of("--seconds", "0.01")),
                Arguments.of("train", List.of("--data", "no-such-data.csv", "--steps", "1")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("commands")
    void everyCommandThatLoadsAVersionVerifiesIt(String command, List<String> extra) throws IOException {
        Path dir = version();
        Files.writeString(dir.resolve("variables/extra.bin"), "x");
        List<String> args = new ArrayList<>(List.of(command, "--model", dir.getParent().toString()));
        args.addAll(extra);
        CliRuns.Run r = CliRuns.run(TestSupport.utf8("{\"instances\": [[1.0]]}\n"), args.toArray(String[]::new));
        CliRuns.assertOneLineRefusal(r, Code.FAILED_PRECONDITION, "variables/extra.bin: not listed in manifest.json");

        Files.delete(dir.resolve("manifest.json"));
        r = CliRuns.run(new byte[0], args.toArray(String[]::new));
        CliRuns.assertOneLineRefusal(r, Code.FAILED_PRECONDITION, dir + SKIP_HINT);

        // With --skip-verification the check is skipped: whatever comes next complains instead
        // (the fixture's saved_model.pb is no SavedModel, or train finds no manifest).
        args.add(ManifestVerifier.SKIP_FLAG);
        r = CliRuns.run(new byte[0], args.toArray(String[]::new));
        assertEquals(2, r.status(), r.stderr());
        assertEquals(1, r.stderr().lines().count(), r.stderr());
        assertTrue(r.stderr().startsWith("java_consumer: error: "), r.stderr());
        assertFalse(r.stderr().contains("manifest.json to verify") || r.stderr().contains("not listed"),
                r.stderr());
    }

    @Test
    void inspectDoesNotVerify() throws IOException {
        Path dir = version();
        Files.writeString(dir.resolve("variables/extra.bin"), "x");
        CliRuns.Run r = CliRuns.run(new byte[0], "inspect", "--model", dir.toString());
        // The fixture's saved_model.pb is random bytes: inspect complains about that, not about
        // the manifest.
        assertEquals(2, r.status(), r.stderr());
        assertFalse(r.stderr().contains("not listed") || r.stderr().contains("to verify"), r.stderr());
        CliRuns.Run bad = CliRuns.run(new byte[0], "inspect", "--model", dir.toString(),
                ManifestVerifier.SKIP_FLAG);
        assertEquals(2, bad.status(), "inspect has no --skip-verification");
        assertTrue(bad.stderr().contains(ManifestVerifier.SKIP_FLAG), bad.stderr());
    }

    /** A copy of the newest models/linear version (the producer's, so its manifest lists every file). */
    private Path linearCopy() throws IOException {
        assumeTrue(TestSupport.linearPresent(), "models/linear is absent: run the Python producer first");
        Path source = ModelLocation.resolve(TestSupport.LINEAR.toString(), null).dir();
        Path copy = temp.resolve("linear").resolve("1");
        Files.createDirectories(copy.getParent());
        VersionWriter.copyTree(source, copy);
        return copy;
    }

    @Test
    void linearVerifiesAndABareCopyLoadsOnlyWithTheFlag() throws IOException {
        Path v = linearCopy();
        byte[] request = TestSupport.utf8("{\"instances\": [[1.0], [2.0]]}");
        CliRuns.Run verified = CliRuns.run(request, "predict", "--model", v.toString());
        assertEquals(0, verified.status(), verified.stderr());
        assertEquals("", verified.stderr());

        byte[] data = Files.readAllBytes(v.resolve(DATA));
        data[data.length / 2] ^= 0x01;
        Files.write(v.resolve(DATA), data);
        CliRuns.Run corrupt = CliRuns.run(request, "predict", "--model", v.toString());
        assertEquals(2, corrupt.status());
        assertTrue(corrupt.stderr().startsWith("java_consumer: error: " + DATA + ": SHA-256 " + sha256(data)
                + " does not match manifest.json ("), corrupt.stderr());
        assertEquals(1, corrupt.stderr().lines().count());
        data[data.length / 2] ^= 0x01;
        Files.write(v.resolve(DATA), data);

        Files.delete(v.resolve("manifest.json"));
        CliRuns.assertOneLineRefusal(CliRuns.run(request, "predict", "--model", v.toString()), v + SKIP_HINT);
        CliRuns.Run bare = CliRuns.run(request, "predict", "--model", v.toString(), ManifestVerifier.SKIP_FLAG);
        assertEquals(0, bare.status(), bare.stderr());
        assertEquals(verified.stdout(), bare.stdout());
    }
}
