package org.polyglot.tf.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Checks a version folder against its {@code manifest.json} before anything of it reaches
 * TensorFlow (tests/CONTRACT.md, "Verifying a model version before loading it").
 *
 * <p>Every path of the manifest's {@code files} and every regular file of the folder (recursively,
 * symbolic links not followed, {@code manifest.json} itself excepted) is checked in code-point
 * order of its {@code /}-separated relative path, so that every consumer names the same file
 * first: a file on disk must be listed; a listed file must be a regular file inside the folder,
 * of the listed size ({@code bytes}) and SHA-256 ({@code sha256}, lower-case hex). Files are
 * hashed in a streaming fashion, never read into memory whole. The first problem is a refusal
 * ({@link Code#FAILED_PRECONDITION}) with the message catalog's text (tests/cases/messages.json).
 */
public final class ManifestVerifier {

    /** The command-line flag that skips the check. */
    public static final String SKIP_FLAG = "--skip-verification";

    private static final int BUFFER = 1 << 20;

    private ManifestVerifier() {
    }

    /**
     * Verifies a version folder against its {@code manifest.json}.
     *
     * @param versionDir the version folder
     * @param shown the version folder's text as given ({@link ModelLocation#shown()}), which
     *     messages name (tests/CONTRACT.md, "Paths in messages")
     * @throws StatusException ({@link Code#FAILED_PRECONDITION}) with the catalog's message for
     *     the first problem ({@code manifest_missing}, {@code manifest_not_json}, ...): no
     *     {@code manifest.json}, one that is not valid JSON or has no {@code files} object, a file
     *     not listed, a listed file missing (or outside the folder), not a regular file, of another
     *     size or of another SHA-256
     */
    public static void verify(Path versionDir, String shown) {
        Path manifestPath = versionDir.resolve(Manifest.FILE_NAME);
        if (!Files.isRegularFile(manifestPath)) {
            throw Messages.error("manifest_missing", Map.of("path", shown));
        }
        Json.Obj files = readFiles(manifestPath, ModelLocation.join(shown, Manifest.FILE_NAME));
        Path root = realPath(versionDir, shown);
        SortedSet<String> onDisk = regularFiles(root, shown);
        SortedSet<String> all = new TreeSet<>(SignatureSpec.CODE_POINT_ORDER);
        all.addAll(files.members().keySet());
        all.addAll(onDisk);
        for (String rel : all) {
            if (!files.members().containsKey(rel)) {
                throw Messages.error("file_not_listed", Map.of("file", rel));
            }
            checkFile(versionDir, root, rel, files.get(rel), onDisk.contains(rel));
        }
    }

    /** Reads the manifest's {@code files} object. */
    private static Json.Obj readFiles(Path manifestPath, String shownManifest) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(manifestPath);
        } catch (IOException e) {
            throw Messages.error("manifest_not_json", Map.of("path", shownManifest,
                    "detail", "cannot read it: " + e.getMessage()));
        }
        Json.Value root;
        try {
            root = Json.parse(bytes);
        } catch (StatusException e) {
            throw Messages.error("manifest_not_json", Map.of("path", shownManifest, "detail", parseDetail(bytes, e)));
        }
        if (root instanceof Json.Obj o && o.get("files") instanceof Json.Obj files) {
            return files;
        }
        throw Messages.error("manifest_without_files", Map.of("path", shownManifest));
    }

    /**
     * Returns the {@code {detail}} of the catalog's {@code manifest_not_json}: why a manifest's
     * bytes are not JSON.
     *
     * @param bytes the file's bytes
     * @param e the parser's refusal
     * @return {@code the file is empty}, or the parser's message without its {@code invalid JSON: }
     */
    static String parseDetail(byte[] bytes, StatusException e) {
        return bytes.length == 0 ? "the file is empty" : e.getMessage().replaceFirst("^invalid JSON: ", "");
    }

    /**
     * Lists the regular files under a folder (its real path; symbolic links below it neither listed
     * nor followed), as
     * {@code /}-separated paths relative to it, without the top-level {@code manifest.json}.
     */
    private static SortedSet<String> regularFiles(Path dir, String shown) {
        SortedSet<String> out = new TreeSet<>(SignatureSpec.CODE_POINT_ORDER);
        try (Stream<Path> s = Files.walk(dir)) {
            s.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).forEach(p -> {
                StringBuilder rel = new StringBuilder();
                for (Path part : dir.relativize(p)) {
                    rel.append(rel.length() == 0 ? "" : "/").append(part);
                }
                out.add(rel.toString());
            });
        } catch (IOException | UncheckedIOException e) {
            String why = e instanceof UncheckedIOException u ? u.getCause().getMessage() : e.getMessage();
            throw StatusException.failedPrecondition("cannot list " + shown + " to verify it against " + Manifest.FILE_NAME
                    + ": " + why);
        }
        out.remove(Manifest.FILE_NAME);
        return out;
    }

    private static Path realPath(Path p, String shown) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            throw StatusException.failedPrecondition("cannot resolve " + shown + ": " + e.getMessage());
        }
    }

    /** Checks one listed file: inside the folder, regular, size, then SHA-256. */
    private static void checkFile(Path versionDir, Path root, String rel, Json.Value entry, boolean regular) {
        Path path = null;
        boolean inside = false;
        if (!rel.startsWith("/")) {
            try {
                path = versionDir.resolve(rel);
                if (Files.exists(path)) {
                    Path real = path.toRealPath();
                    inside = real.startsWith(root) && !real.equals(root);
                }
            } catch (InvalidPathException | IOException e) {
                inside = false;
            }
        }
        if (!inside || !regular) {
            throw Messages.error(inside ? "file_not_regular" : "file_missing", Map.of("file", rel));
        }
        if (!(entry instanceof Json.Obj e)) {
            throw Messages.error("file_entry_invalid", Map.of("file", rel));
        }
        long size;
        try {
            size = Files.size(path);
        } catch (IOException ex) {
            throw StatusException.failedPrecondition(rel + ": cannot read it: " + ex.getMessage());
        }
        Json.Value bytes = e.get("bytes");
        if (!isSize(size, bytes)) {
            throw Messages.error("file_size_differs", Map.of("file", rel, "size", Long.toString(size),
                    "expected", manifestText(bytes)));
        }
        String got;
        try {
            got = sha256(path);
        } catch (IOException ex) {
            throw StatusException.failedPrecondition(rel + ": cannot read it: " + ex.getMessage());
        }
        Json.Value want = e.get("sha256");
        if (!(want instanceof Json.Str s && s.value().equals(got))) {
            throw Messages.error("file_sha256_differs", Map.of("file", rel, "sha256", got,
                    "expected", manifestText(want)));
        }
    }

    /**
     * Returns the SHA-256 of a file as lower-case hex, reading it in blocks.
     *
     * @param file the file
     * @return 64 hex digits
     * @throws IOException when the file cannot be read
     */
    public static String sha256(Path file) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        byte[] buffer = new byte[BUFFER];
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
            while (in.read(buffer) != -1) {
                // the digest is updated by the stream
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /**
     * Whether a manifest {@code bytes} value is the number {@code size}: a JSON number of that
     * value, written as an integer ({@code 12}) or not ({@code 12.0}, {@code 1.2e1}). Anything
     * else (a string, a boolean, {@code null}, a missing member, {@code NaN}) is no size.
     */
    private static boolean isSize(long size, Json.Value v) {
        if (!(v instanceof Json.Num n) || n.nonFinite()) {
            return false;
        }
        if (n.integral()) {
            return new BigInteger(n.text()).equals(BigInteger.valueOf(size));
        }
        double d = Double.parseDouble(n.text());
        return Double.isFinite(d) && new BigDecimal(d).compareTo(BigDecimal.valueOf(size)) == 0;
    }

    /**
     * Writes a manifest member's value as the catalog's messages do ({@code {expected}}; the
     * {@code about} of tests/cases/messages.json): a string as it is; a number that is not an
     * integer literal as tests/CONTRACT.md, "Numbers in text", writes a {@code DT_DOUBLE}
     * ({@code NaN}, {@code Infinity} for literals beyond float64); anything else as compact JSON
     * ({@code null} when absent, {@code true}, {@code false}, integers in decimal, lists and
     * objects as written).
     *
     * @param v the value, or {@code null} when the member is absent
     * @return its text (bounded later, as every message value is)
     */
    static String manifestText(Json.Value v) {
        if (v == null) {
            return "null";
        }
        if (v instanceof Json.Str s) {
            return s.value();
        }
        if (v instanceof Json.Num n) {
            if (n.integral()) {
                return new BigInteger(n.text()).toString();
            }
            return Numbers.format(Double.parseDouble(n.text()));
        }
        return Json.compact(v);
    }
}
