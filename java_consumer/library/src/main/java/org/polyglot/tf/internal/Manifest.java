package org.polyglot.tf.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The parts of a version's {@code manifest.json} the consumer uses: for each signature key, the
 * frozen graph file and its input/output tensor names and specs.
 */
public final class Manifest {

    /** The manifest file name. */
    public static final String FILE_NAME = "manifest.json";

    /** The file's text in messages (the version folder as given, {@code /manifest.json}). */
    private final String file;
    private final Json.Obj signatures;

    private Manifest(String file, Json.Obj signatures) {
        this.file = file;
        this.signatures = signatures;
    }

    /**
     * Reads the manifest of a version folder, if there is one, naming it in messages as
     * {@code <shown>/manifest.json} (tests/CONTRACT.md, "Paths in messages").
     *
     * @param versionDir the version folder
     * @param shown the version folder's text as given ({@link ModelLocation#shown()})
     * @return the manifest, or {@code null} when the folder has no {@code manifest.json}
     * @throws StatusException ({@link Code#FAILED_PRECONDITION}) when the file exists but cannot be
     *     read, is not JSON (the catalog's {@code manifest_not_json}) or is malformed
     */
    public static Manifest readIfPresent(Path versionDir, String shown) {
        Path path = versionDir.resolve(FILE_NAME);
        String f = ModelLocation.join(shown, FILE_NAME);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw StatusException.failedPrecondition("cannot read " + Echo.quotedSingle(f) + ": " + e.getMessage());
        }
        Json.Value root;
        try {
            root = Json.parse(bytes);
        } catch (StatusException e) {
            throw Messages.error("manifest_not_json", Map.of("path", f, "detail", ManifestVerifier.parseDetail(bytes, e)));
        }
        if (!(root instanceof Json.Obj o)) {
            throw malformed(f, "the top level is not an object");
        }
        Json.Value sigs = o.get("signatures");
        if (sigs == null) {
            return new Manifest(f, new Json.Obj(Map.of()));
        }
        if (!(sigs instanceof Json.Obj so)) {
            throw malformed(f, "'signatures' is not an object");
        }
        return new Manifest(f, so);
    }

    /**
     * Returns the signature keys the manifest lists, sorted.
     *
     * @return the keys
     */
    public java.util.List<String> signatureKeys() {
        var keys = new java.util.ArrayList<>(signatures.members().keySet());
        keys.sort(SignatureSpec.CODE_POINT_ORDER);
        return keys;
    }

    /**
     * Returns the keys of the signatures that have a frozen graph ({@code signatures[key].frozen}
     * an object), sorted; a malformed entry is not one of them.
     *
     * @return the keys
     */
    public java.util.List<String> frozenKeys() {
        var keys = new java.util.ArrayList<String>();
        for (String k : signatureKeys()) {
            if (signatures.get(k) instanceof Json.Obj s && s.get("frozen") instanceof Json.Obj) {
                keys.add(k);
            }
        }
        return keys;
    }

    /**
     * Tells whether the manifest lists a signature key.
     *
     * @param key the signature key
     * @return true when listed
     */
    public boolean hasSignature(String key) {
        return signatures.get(key) != null;
    }

    /**
     * Returns {@code signatures[key].frozen.graph}, the frozen GraphDef's path relative to the
     * version folder.
     *
     * @param key the signature key
     * @return the path text, or {@code null} when the signature or its frozen entry is absent
     */
    public String frozenGraph(String key) {
        Json.Obj frozen = frozen(key);
        if (frozen == null) {
            return null;
        }
        if (!(frozen.get("graph") instanceof Json.Str g)) {
            throw malformed(file, "signatures[" + Echo.quotedSingle(key) + "].frozen.graph is not a string");
        }
        return g.value();
    }

    /**
     * Returns {@code signatures[key].frozen_unavailable}, why the signature has no frozen graph
     * (written by the producer's {@code import}; tests/CONTRACT.md, "manifest.json").
     *
     * @param key the signature key
     * @return the reason, or {@code null} when the signature is absent or gives no reason (the
     *     member absent, not a string, or empty)
     */
    public String frozenUnavailable(String key) {
        if (signatures.get(key) instanceof Json.Obj s && s.get("frozen_unavailable") instanceof Json.Str r
                && !r.value().isEmpty()) {
            return r.value();
        }
        return null;
    }

    /**
     * Returns the frozen graph's signature: {@code signatures[key].frozen.inputs/outputs}.
     *
     * @param key the signature key
     * @return the spec (method name {@code ""}), or {@code null} when the signature or its frozen
     *     entry is absent
     * @throws StatusException when the entry is malformed
     */
    public SignatureSpec frozenSignature(String key) {
        Json.Obj frozen = frozen(key);
        if (frozen == null) {
            return null;
        }
        String method = "";
        if (signatures.get(key) instanceof Json.Obj s && s.get("method_name") instanceof Json.Str m) {
            method = m.value();
        }
        return new SignatureSpec(key, method, specs(key, frozen, "inputs"), specs(key, frozen, "outputs"));
    }

    private Json.Obj frozen(String key) {
        Json.Value s = signatures.get(key);
        if (s == null) {
            return null;
        }
        if (!(s instanceof Json.Obj so)) {
            throw malformed(file, "signatures[" + Echo.quotedSingle(key) + "] is not an object");
        }
        Json.Value f = so.get("frozen");
        if (f == null || f instanceof Json.Null) {
            return null;
        }
        if (!(f instanceof Json.Obj fo)) {
            throw malformed(file, "signatures[" + Echo.quotedSingle(key) + "].frozen is not an object");
        }
        return fo;
    }

    private SortedMap<String, TensorSpec> specs(String key, Json.Obj frozen, String which) {
        String where = "signatures[" + Echo.quotedSingle(key) + "].frozen." + which;
        if (!(frozen.get(which) instanceof Json.Obj o)) {
            throw malformed(file, where + " is not an object");
        }
        SortedMap<String, TensorSpec> m = new TreeMap<>(SignatureSpec.CODE_POINT_ORDER);
        for (Map.Entry<String, Json.Value> e : o.members().entrySet()) {
            String at = where + "[" + Echo.quotedSingle(e.getKey()) + "]";
            if (!(e.getValue() instanceof Json.Obj t)
                    || !(t.get("name") instanceof Json.Str name)
                    || !(t.get("dtype") instanceof Json.Str dtype)) {
                throw malformed(file, at + " needs string 'name' and 'dtype'");
            }
            m.put(e.getKey(), new TensorSpec(e.getKey(), name.value(), dtype.value(), shape(t.get("shape"), at)));
        }
        return m;
    }

    private long[] shape(Json.Value v, String at) {
        if (v == null || v instanceof Json.Null) {
            return null;
        }
        if (v instanceof Json.Arr a) {
            long[] dims = new long[a.size()];
            for (int i = 0; i < dims.length; i++) {
                if (!(a.get(i) instanceof Json.Num n) || !n.integral()) {
                    throw malformed(file, at + ".shape must be a list of integers or null");
                }
                try {
                    dims[i] = Long.parseLong(n.text());
                } catch (NumberFormatException e) {
                    throw malformed(file, at + ".shape has an out-of-range dim " + n.text());
                }
            }
            return dims;
        }
        throw malformed(file, at + ".shape must be a list of integers or null");
    }

    private static StatusException malformed(String f, String what) {
        return StatusException.failedPrecondition(Echo.quotedSingle(f) + " is malformed: " + what);
    }
}
