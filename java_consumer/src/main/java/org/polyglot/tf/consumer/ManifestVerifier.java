package org.polyglot.tf.consumer;

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
 * hashed in a streaming fashion, never read into memory whole. The first problem is a refusal.
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
     * @throws ConsumerException (refusal) with the contract's message for the first problem: no
     *     {@code manifest.json}, one that is not valid JSON or has no {@code files} object, a file
     *     not listed, a listed file missing (or outside the folder), not a regular file, of another
     *     size or of another SHA-256
     */
    public static void verify(Path versionDir, String shown) {
        Path manifestPath = versionDir.resolve(Manifest.FILE_NAME);
        if (!Files.isRegularFile(manifestPath)) {
            throw ConsumerException.refusal(shown + " has no " + Manifest.FILE_NAME + " to verify; pass "
                    + SKIP_FLAG + " to load an unverified model");
        }
        Json.Obj files = readFiles(manifestPath, ModelLocation.join(shown, Manifest.FILE_NAME));
        Path root = realPath(versionDir, shown);
        SortedSet<String> onDisk = regularFiles(root, shown);
        SortedSet<String> all = new TreeSet<>(SignatureSpec.CODE_POINT_ORDER);
        all.addAll(files.members().keySet());
        all.addAll(onDisk);
        for (String rel : all) {
            if (!files.members().containsKey(rel)) {
                throw ConsumerException.refusal(rel + ": not listed in " + Manifest.FILE_NAME);
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
            throw ConsumerException.refusal(shownManifest + " is not valid JSON: cannot read it: " + e.getMessage());
        }
        Json.Value root;
        try {
            root = Json.parse(bytes);
        } catch (ConsumerException e) {
            String why = bytes.length == 0 ? "the file is empty" : e.getMessage().replaceFirst("^invalid JSON: ", "");
            throw ConsumerException.refusal(shownManifest + " is not valid JSON: " + why);
        }
        if (root instanceof Json.Obj o && o.get("files") instanceof Json.Obj files) {
            return files;
        }
        throw ConsumerException.refusal(shownManifest + " has no \"files\" object to verify against");
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
            throw ConsumerException.refusal("cannot list " + shown + " to verify it against " + Manifest.FILE_NAME
                    + ": " + why);
        }
        out.remove(Manifest.FILE_NAME);
        return out;
    }

    private static Path realPath(Path p, String shown) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            throw ConsumerException.refusal("cannot resolve " + shown + ": " + e.getMessage());
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
            if (inside) {
                throw ConsumerException.refusal(rel + ": listed in " + Manifest.FILE_NAME + " but not a regular file");
            }
            throw ConsumerException.refusal(rel + ": listed in " + Manifest.FILE_NAME + " but missing");
        }
        if (!(entry instanceof Json.Obj e)) {
            throw ConsumerException.refusal(rel + ": " + Manifest.FILE_NAME
                    + " entry is not an object with \"sha256\" and \"bytes\"");
        }
        long size;
        try {
            size = Files.size(path);
        } catch (IOException ex) {
            throw ConsumerException.refusal(rel + ": cannot read it: " + ex.getMessage());
        }
        Json.Value bytes = e.get("bytes");
        if (!sameNumber(size, bytes)) {
            throw ConsumerException.refusal(rel + ": " + size + " bytes, " + Manifest.FILE_NAME + " says "
                    + pythonStr(bytes));
        }
        String got;
        try {
            got = sha256(path);
        } catch (IOException ex) {
            throw ConsumerException.refusal(rel + ": cannot read it: " + ex.getMessage());
        }
        Json.Value want = e.get("sha256");
        if (!(want instanceof Json.Str s && s.value().equals(got))) {
            throw ConsumerException.refusal(rel + ": SHA-256 " + got + " does not match " + Manifest.FILE_NAME
                    + " (" + pythonStr(want) + ")");
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

    /** Whether a manifest value equals a size as Python's {@code ==} compares them. */
    private static boolean sameNumber(long size, Json.Value v) {
        if (v instanceof Json.Bool b) {
            return size == (b.value() ? 1 : 0);
        }
        if (!(v instanceof Json.Num n) || n.nonFinite()) {
            return false;
        }
        if (n.integral()) {
            return new BigInteger(n.text()).equals(BigInteger.valueOf(size));
        }
        double d = Double.parseDouble(n.text());
        return Double.isFinite(d) && new BigDecimal(d).compareTo(BigDecimal.valueOf(size)) == 0;
    }

    /** A manifest value as Python's {@code str()} writes its {@code json.loads} form (scalars). */
    private static String pythonStr(Json.Value v) {
        if (v == null || v instanceof Json.Null) {
            return "None";
        }
        if (v instanceof Json.Str s) {
            return s.value();
        }
        if (v instanceof Json.Bool b) {
            return b.value() ? "True" : "False";
        }
        if (v instanceof Json.Num n) {
            if (n.integral()) {
                return new BigInteger(n.text()).toString();
            }
            double d = Double.parseDouble(n.text());
            if (Double.isNaN(d)) {
                return "nan";
            }
            if (Double.isInfinite(d)) {
                return d > 0 ? "inf" : "-inf";
            }
            return Numbers.format(d);
        }
        return v.typeName();
    }
}
