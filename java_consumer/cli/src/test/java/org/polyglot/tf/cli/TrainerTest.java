package org.polyglot.tf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.polyglot.tf.internal.CheckpointDir;
import org.polyglot.tf.internal.Code;
import org.polyglot.tf.internal.DType;
import org.polyglot.tf.internal.HostTensor;
import org.polyglot.tf.internal.Json;
import org.polyglot.tf.internal.ModelLocation;
import org.polyglot.tf.internal.StatusException;
import org.polyglot.tf.internal.TestSupport;
import org.polyglot.tf.internal.Trainer;
import org.polyglot.tf.internal.VersionWriter;

/**
 * The {@code train} command: option checks, value and manifest formatting (pure), and, when the
 * Python producer has exported {@code models/affine} (or {@code -Dpolyglot.models=DIR} names a
 * folder holding it), complete runs on a private copy: stdout, the new version, resume and refusals.
 */
class TrainerTest {

    private static final Path MODELS = Path.of(System.getProperty("polyglot.models",
            TestSupport.REPO.resolve("models").toString()));

    private static final Pattern RATE = Pattern.compile("trained \\d+ steps in [0-9.]+ s \\([0-9.]+ steps/s\\)");

    @TempDir
    Path temp;

    private static Trainer.Options options(long steps, int batch, String rate, long every, long log) {
        return new Trainer.Options(steps, batch, rate, every, null, false, log);
    }

    private static String refusal(Trainer.Options o) {
        StatusException e = assertThrows(StatusException.class, o::check);
        assertEquals(Code.INVALID_ARGUMENT, e.code());
        return e.getMessage();
    }

    @Test
    void optionsOutOfRangeAreRefused() {
        assertEquals(0.1f, options(1, 1, "0.1", 0, 1).check());
        assertEquals(1e30f, options(1, 1, "1e30", 0, 1).check());
        assertTrue(refusal(options(0, 64, "0.1", 0, 100)).startsWith("--steps must be at least 1, got 0"));
        assertTrue(refusal(options(5, 0, "0.1", 0, 100)).startsWith("--batch-size"));
        for (String bad : List.of("-1", "0", "nan", "NaN", "inf", "-Infinity", "1e39", "1e-50", "ten", "1_000", "0x10",
                "1f", " 0.5", "0.5 ", "\u00a00.5", "", "e5", "1e")) {
            // (A refusal is one line; its trailing white space is not kept.)
            assertEquals(("--learning-rate must be a finite number > 0 in float32, got " + bad).stripTrailing(),
                    refusal(options(5, 64, bad, 0, 100)), bad);
        }
        String longRate = "1".repeat(250) + "x";
        assertTrue(refusal(options(5, 64, longRate, 0, 100)).endsWith("... (251 characters)"));
        assertTrue(refusal(options(5, 64, "0.1", -1, 100)).startsWith("--checkpoint-every"));
        assertTrue(refusal(options(5, 64, "0.1", 0, 0)).startsWith("--log-every"));
    }

    @Test
    void learningRateIsADecimalLiteralRoundedOnceToFloat32() {
        assertEquals(0.25f, options(1, 1, ".25", 0, 1).check());
        assertEquals(3.0f, options(1, 1, "3.", 0, 1).check());
        assertEquals(1000f, options(1, 1, "+1E3", 0, 1).check());
        assertEquals(0.1f, options(1, 1, "0.1000000000000000055511151231257827", 0, 1).check());
        // Halfway between two float32s by the first 25 digits, above it by the last: rounds up.
        assertEquals(Math.nextUp(1.0f), options(1, 1, "1.000000059604644775390625000001", 0, 1).check());
    }

    @Test
    void variablesArePrintedAsTheContractWritesNumbers() {
        ByteBuffer f = HostTensor.allocate(DType.FLOAT, new long[] {2});
        f.putFloat(0, 3.0003152f).putFloat(4, 1e-5f);
        assertEquals("[3.0003152, 0.00001]", Trainer.formatValue(HostTensor.numeric(DType.FLOAT, new long[] {2}, f)));
        ByteBuffer w = HostTensor.allocate(DType.FLOAT, new long[] {2, 2});
        w.putFloat(0, 1e-7f).putFloat(4, 1e21f).putFloat(8, -0f).putFloat(12, 999999.94f);
        assertEquals("[1e-7, 1e+21, -0.0, 999999.94]",
                Trainer.formatValue(HostTensor.numeric(DType.FLOAT, new long[] {2, 2}, w)), "row-major");
        ByteBuffer d = HostTensor.allocate(DType.DOUBLE, new long[0]);
        d.putDouble(0, 0.1);
        assertEquals("0.1", Trainer.formatValue(HostTensor.numeric(DType.DOUBLE, new long[0], d)));
        ByteBuffer h = HostTensor.allocate(DType.HALF, new long[0]);
        h.putShort(0, (short) 0x7bff);
        assertEquals("65500.0", Trainer.formatValue(HostTensor.numeric(DType.HALF, new long[0], h)));
        ByteBuffer s = HostTensor.allocate(DType.INT64, new long[0]);
        s.putLong(0, 1000);
        assertEquals("1000", Trainer.formatValue(HostTensor.numeric(DType.INT64, new long[0], s)));
        ByteBuffer b = HostTensor.allocate(DType.BOOL, new long[] {2});
        b.put(0, (byte) 1);
        assertEquals("[true, false]", Trainer.formatValue(HostTensor.numeric(DType.BOOL, new long[] {2}, b)));
        ByteBuffer u = HostTensor.allocate(DType.UINT64, new long[0]);
        u.putLong(0, -1L);
        assertEquals("18446744073709551615", Trainer.formatValue(HostTensor.numeric(DType.UINT64, new long[0], u)));
    }

    @Test
    void fileHashesCoverEveryFileButTheManifest() throws IOException {
        Files.createDirectories(temp.resolve("golden"));
        Files.writeString(temp.resolve("golden/a.json"), "a");
        Files.writeString(temp.resolve("golden.txt"), "");
        Files.writeString(temp.resolve("manifest.json"), "{}");
        Files.writeString(temp.resolve("saved_model.pb"), "abc");
        Json.Obj files = VersionWriter.fileHashes(temp, temp.toString());
        assertEquals(Set.of("golden/a.json", "golden.txt", "saved_model.pb"), files.members().keySet());
        Json.Obj abc = (Json.Obj) files.get("saved_model.pb");
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                ((Json.Str) abc.get("sha256")).value());
        assertEquals("3", ((Json.Num) abc.get("bytes")).text());
    }

    // ------------------------------------------------------------------------------------------
    // complete runs on models/affine

    /** A private copy of the newest models/affine version with a training section, as version 1. */
    private Path affineCopy(String name) throws IOException {
        Path root = MODELS.resolve("affine");
        assumeTrue(Files.isDirectory(root), "models/affine is not exported; run `make models`");
        Path source = null;
        try (Stream<Path> s = Files.list(root)) {
            for (Path v : s.filter(p -> ModelLocation.parseVersion(p.getFileName().toString()) != null)
                    .sorted((a, b) -> ModelLocation.parseVersion(b.getFileName().toString())
                            .compareTo(ModelLocation.parseVersion(a.getFileName().toString()))).toList()) {
                if (Files.isRegularFile(v.resolve("saved_model.pb"))
                        && Files.readString(v.resolve("manifest.json")).contains("\"training\"")) {
                    source = v;
                    break;
                }
            }
        }
        assumeTrue(source != null, "models/affine has no version with a training section");
        Path copy = temp.resolve(name).resolve("affine").resolve("1");
        Files.createDirectories(copy.getParent());
        VersionWriter.copyTree(source, copy);
        return copy;
    }

    private static CliRuns.Run train(Path version, Path checkpoints, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--model", version.toString(), "--data",
                version.resolve("data").toString(), "--checkpoint-dir", checkpoints.toString()));
        args.addAll(List.of(extra));
        return CliRuns.run(new byte[0], args.toArray(String[]::new));
    }

    private static List<String> lines(String s) {
        return s.isEmpty() ? List.of() : List.of(s.split("\n"));
    }

    @Test
    void trainsExportsAndResumesExactly() throws IOException {
        Path v1 = affineCopy("whole");
        CliRuns.Run whole = train(v1, temp.resolve("whole/ck"), "--steps", "300", "--checkpoint-every", "100");
        assertEquals(0, whole.status(), whole.stderr());
        List<String> out = lines(whole.stdout());
        assertEquals(4, out.size(), whole.stdout());
        assertTrue(out.get(0).matches("step: \\d*100, loss: [0-9.e+-]+"), out.get(0));
        assertTrue(out.get(3).startsWith("final: W: ") && out.get(3).contains(", b: ")
                && out.get(3).contains(", global_step: "), out.get(3));
        List<String> err = lines(whole.stderr());
        assertEquals(2, err.size(), whole.stderr());
        assertTrue(RATE.matcher(err.get(0)).matches(), err.get(0));
        Path v2 = v1.resolveSibling("2");
        assertEquals("exported " + v1.getParent() + "/2", err.get(1));

        // The new version: every file hashed, the source graph unchanged, run described.
        String manifest = Files.readString(v2.resolve("manifest.json"));
        Json.Obj m = (Json.Obj) Json.parse(manifest.getBytes(StandardCharsets.UTF_8));
        Set<String> onDisk = new TreeSet<>();
        try (Stream<Path> s = Files.walk(v2)) {
            s.filter(Files::isRegularFile).forEach(p -> onDisk.add(v2.relativize(p).toString()));
        }
        onDisk.remove("manifest.json");
        assertEquals(onDisk, new TreeSet<>(((Json.Obj) m.get("files")).members().keySet()));
        assertFalse(onDisk.contains("fingerprint.pb"));
        assertTrue(onDisk.contains("checkpoint/checkpoint") && onDisk.contains("variables/variables.index"));
        assertEquals(-1, java.util.Arrays.mismatch(Files.readAllBytes(v1.resolve("saved_model.pb")),
                Files.readAllBytes(v2.resolve("saved_model.pb"))));
        Json.Obj run = (Json.Obj) ((Json.Obj) m.get("training")).get("run");
        assertEquals("java", ((Json.Str) run.get("language")).value());
        assertEquals("300", ((Json.Num) run.get("steps")).text());
        assertEquals("0.1", ((Json.Str) run.get("learning_rate")).value());
        assertTrue(run.get("resumed_from") instanceof Json.Null);
        assertEquals("2", ((Json.Num) m.get("version")).text());
        assertTrue(manifest.endsWith("}\n"), manifest);
        Json.Obj source = (Json.Obj) Json.parse(Files.readAllBytes(v1.resolve("manifest.json")));
        assertEquals(source.get("signatures"), m.get("signatures"), "the source's members are kept");
        assertEquals(new CheckpointDir.State("ckpt-" + globalStep(out.get(3)), List.of("ckpt-" + globalStep(out.get(3)))),
                CheckpointDir.parseState(Files.readString(v2.resolve("checkpoint/checkpoint"))));
        // The version serves its own golden answers.
        for (String c : List.of("rows", "columnar")) {
            CliRuns.Run p = CliRuns.run(new byte[0], "predict", "--model", v2.toString(), "--input",
                    v2.resolve("golden/" + c + ".request.json").toString());
            assertEquals(Files.readString(v2.resolve("golden/" + c + ".response.json")), p.stdout());
        }

        // 150 + 150 resumed: the same step lines and the same final variables.
        Path r1 = affineCopy("resumed");
        Path ck = temp.resolve("resumed/ck");
        CliRuns.Run first = train(r1, ck, "--steps", "150", "--log-every", "100");
        assertEquals(0, first.status(), first.stderr());
        CliRuns.Run again = train(r1, ck, "--steps", "150");
        assertEquals(2, again.status());
        assertTrue(again.stderr().contains("pass --resume"), again.stderr());
        CliRuns.Run second = train(r1, ck, "--steps", "150", "--resume");
        assertEquals(0, second.status(), second.stderr());
        List<String> joined = new ArrayList<>(lines(first.stdout()).subList(0, 1));
        joined.addAll(lines(second.stdout()));
        assertEquals(out, joined);
        Json.Obj resumed = (Json.Obj) ((Json.Obj) ((Json.Obj) Json.parse(Files.readAllBytes(
                r1.resolveSibling("3").resolve("manifest.json")))).get("training")).get("run");
        assertEquals(new Json.Str("ckpt-" + (globalStep(out.get(3)) - 150)), resumed.get("resumed_from"));
    }

    private static long globalStep(String finalLine) {
        return Long.parseLong(finalLine.substring(finalLine.lastIndexOf(' ') + 1));
    }

    @Test
    void refusesAndFailsWithOneLine() throws IOException {
        Path v1 = affineCopy("bad");
        CliRuns.Run noCkpt = train(v1, temp.resolve("bad/none"), "--steps", "5", "--resume");
        assertEquals(2, noCkpt.status());
        assertTrue(noCkpt.stderr().startsWith("java_consumer: error: --resume: no checkpoint to resume in "));
        CliRuns.Run diverged = train(v1, temp.resolve("bad/div"), "--steps", "50", "--learning-rate", "1e30");
        assertEquals(1, diverged.status(), diverged.stderr());
        assertEquals(1, lines(diverged.stderr()).size(), diverged.stderr());
        assertTrue(diverged.stderr().matches("java_consumer: error: training diverged at step \\d+: the loss is "
                + "(Infinity|NaN); lower --learning-rate\n"), diverged.stderr());
        CliRuns.Run noData = CliRuns.run(new byte[0], "train", "--model", v1.toString(), "--data",
                temp.resolve("nothing-here").toString(), "--steps", "5");
        assertEquals(2, noData.status());
        assertTrue(noData.stderr().contains("nothing-here: no such file or folder"), noData.stderr());
        try (Stream<Path> s = Files.list(v1.getParent())) {
            assertEquals(List.of("1"), s.map(p -> p.getFileName().toString()).toList(), "no version was published");
        }
        Path unnamed = temp.resolve("bad/unnamed");
        VersionWriter.copyTree(v1, unnamed);
        CliRuns.Run notNumbered = train(unnamed, temp.resolve("bad/un"), "--steps", "5");
        assertEquals(2, notNumbered.status());
        assertTrue(notNumbered.stderr().contains("needs a version folder named by its number"), notNumbered.stderr());
    }
}
