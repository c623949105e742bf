package org.polyglot.tf.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import java.util.SortedMap;

/** Helpers shared by the library's tests and the command line's (through this module's test jar). */
public final class TestSupport {

    /** The repository root: the system property {@code polyglot.repo}, which the build sets. */
    public static final Path REPO = Paths.get(System.getProperty("polyglot.repo", "../..")).toAbsolutePath().normalize();

    /** The linear model folder produced by the Python producer. */
    public static final Path LINEAR = REPO.resolve("models/linear");

    private TestSupport() {
    }

    /** Whether models/linear has a complete version. */
    public static boolean linearPresent() {
        return modelPresent("linear");
    }

    /** Whether models/NAME has a complete version. */
    public static boolean modelPresent(String name) {
        try (var s = Files.list(REPO.resolve("models").resolve(name))) {
            return s.anyMatch(p -> Files.isRegularFile(p.resolve("saved_model.pb")));
        } catch (IOException e) {
            return false;
        }
    }

    /** The signature of models/linear: x, y DT_DOUBLE (-1, -1). */
    public static SignatureSpec linearSignature() {
        return signature(Map.of("x", new TensorSpec("x", "serving_default_x:0", "DT_DOUBLE", new long[] {-1, -1})),
                Map.of("y", new TensorSpec("y", "StatefulPartitionedCall:0", "DT_DOUBLE", new long[] {-1, -1})));
    }

    public static SignatureSpec signature(Map<String, TensorSpec> in, Map<String, TensorSpec> out) {
        SortedMap<String, TensorSpec> i = SignatureSpec.newSpecMap();
        i.putAll(in);
        SortedMap<String, TensorSpec> o = SignatureSpec.newSpecMap();
        o.putAll(out);
        return new SignatureSpec("serving_default", "tensorflow/serving/predict", i, o);
    }

    public static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Writes a parsed JSON value back as compact text (numbers keep their literal text). */
    public static String write(Json.Value v) {
        return Json.compact(v);
    }
}
