package org.polyglot.tf.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Stages and atomically publishes a new version {@code <model folder>/<highest + 1>/}, as the
 * producer does (tests/CONTRACT.md, "Model layout"): everything is written into
 * {@code <model folder>/.tmp-<version>-<pid>/}, the manifest last, and the folder is then renamed
 * into place, so a consumer never sees half a version. {@code manifest.json} is written by
 * Jackson ({@link Json#pretty}); its member order and white space carry no meaning
 * (tests/CONTRACT.md, "manifest.json"). Messages name folders as given (tests/CONTRACT.md, "Paths
 * in messages").
 */
public final class VersionWriter {

    private static final DateTimeFormatter CREATED = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss'Z'");

    private final Path modelRoot;
    private final BigInteger version;
    private final Path staging;
    private final Path finalPath;
    private final String stagingShown;
    private final String finalShown;

    /**
     * Chooses the next version of a model folder and creates its (empty) staging folder,
     * replacing a stale one of the same name.
     *
     * @param modelRoot the model folder
     * @param shown the model folder as messages write it (as given, {@link ModelLocation#parent})
     * @throws StatusException (INTERNAL) when the folder cannot be listed or created
     */
    public VersionWriter(Path modelRoot, String shown) {
        this.modelRoot = modelRoot;
        BigInteger highest = BigInteger.ZERO;
        try (Stream<Path> children = Files.list(modelRoot)) {
            for (Path c : (Iterable<Path>) children::iterator) {
                BigInteger v = ModelLocation.parseVersion(c.getFileName().toString());
                if (v != null && v.compareTo(highest) > 0 && Files.isRegularFile(c.resolve(ModelLocation.SAVED_MODEL_PB))) {
                    highest = v;
                }
            }
        } catch (IOException e) {
            throw StatusException.internal("cannot list the model folder " + shown + ": " + e.getMessage());
        }
        this.version = highest.add(BigInteger.ONE);
        String stagingName = ".tmp-" + version + "-" + ProcessHandle.current().pid();
        this.staging = modelRoot.resolve(stagingName);
        this.finalPath = modelRoot.resolve(version.toString());
        this.stagingShown = ModelLocation.join(shown, stagingName);
        this.finalShown = ModelLocation.join(shown, version.toString());
        try {
            if (Files.exists(staging)) {
                deleteTree(staging);
            }
            Files.createDirectories(staging);
        } catch (IOException e) {
            throw StatusException.internal("cannot create the staging folder " + stagingShown + ": " + e.getMessage());
        }
    }

    /**
     * Returns the version being written.
     *
     * @return highest complete version + 1
     */
    public BigInteger version() {
        return version;
    }

    /**
     * Returns the staging folder to write the version's files into.
     *
     * @return {@code <model folder>/.tmp-<version>-<pid>}
     */
    public Path staging() {
        return staging;
    }

    /**
     * Returns where the version will be published.
     *
     * @return {@code <model folder>/<version>}
     */
    public Path finalPath() {
        return finalPath;
    }

    /**
     * Returns the staging folder as messages write it.
     *
     * @return the model folder's text as given, {@code /.tmp-<version>-<pid>}
     */
    public String stagingShown() {
        return stagingShown;
    }

    /**
     * Returns the published folder as messages write it (the {@code exported} line).
     *
     * @return the model folder's text as given, {@code /<version>}
     */
    public String finalShown() {
        return finalShown;
    }

    /**
     * Completes a manifest and publishes the version: sets {@code version},
     * {@code tensorflow_version}, {@code created} (UTC, {@code yyyy-MM-ddTHH:mm:ssZ}) and
     * {@code files} (see {@link #fileHashes(Path, String)}), keeping every other member; writes it
     * as {@code manifest.json} with Jackson ({@link Json#pretty}, plus a newline); syncs the files;
     * renames the staging folder into place ({@link StandardCopyOption#ATOMIC_MOVE}).
     *
     * @param manifest the manifest's members
     * @param tensorflowVersion the runtime's {@code TF_Version()}
     * @return the published folder
     * @throws StatusException (INTERNAL) when writing fails or the version appeared meanwhile
     */
    public Path publish(Map<String, Json.Value> manifest, String tensorflowVersion) {
        Map<String, Json.Value> m = new LinkedHashMap<>(manifest);
        m.put("version", new Json.Num(version.toString(), true));
        m.put("tensorflow_version", new Json.Str(tensorflowVersion));
        m.put("created", new Json.Str(ZonedDateTime.now(ZoneOffset.UTC).format(CREATED)));
        m.put("files", fileHashes(staging, stagingShown));
        try {
            Files.write(staging.resolve(Manifest.FILE_NAME),
                    (Json.pretty(new Json.Obj(m)) + "\n").getBytes(StandardCharsets.UTF_8));
            syncTree(staging);
            if (Files.exists(finalPath)) {
                throw StatusException.internal(finalShown + " appeared while exporting; not overwriting it");
            }
            try {
                Files.move(staging, finalPath, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                throw StatusException.internal("cannot rename " + stagingShown + " to " + finalShown + " atomically");
            }
            sync(modelRoot);
        } catch (IOException e) {
            throw StatusException.internal("cannot publish " + finalShown + ": " + e.getMessage());
        }
        return finalPath;
    }

    /** Removes the staging folder (after a failure); errors are ignored. */
    public void abandon() {
        try {
            if (Files.exists(staging)) {
                deleteTree(staging);
            }
        } catch (IOException ignored) {
            // best effort: the original error is the one reported
        }
    }

    /**
     * Describes every regular file under a folder (symbolic links not followed, as
     * {@link ManifestVerifier} lists them) except {@code manifest.json}:
     * {@code {"<relative/path>": {"sha256": hex, "bytes": n}}}, keys with {@code /} separators
     * (in code-point order of the keys, as {@link ManifestVerifier} checks them; the order of a
     * JSON object's members carries no meaning).
     *
     * @param dir the version folder
     * @param shown the folder as messages write it
     * @return the {@code files} object of the manifest
     * @throws StatusException (INTERNAL) when a file cannot be read
     */
    public static Json.Obj fileHashes(Path dir, String shown) {
        SortedMap<String, Path> files = new TreeMap<>(SignatureSpec.CODE_POINT_ORDER);
        try (Stream<Path> all = Files.walk(dir)) {
            all.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).forEach(f -> {
                StringJoiner rel = new StringJoiner("/");
                dir.relativize(f).forEach(part -> rel.add(part.toString()));
                files.put(rel.toString(), f);
            });
        } catch (IOException | UncheckedIOException e) {
            throw StatusException.internal("cannot list " + shown + ": " + e.getMessage());
        }
        files.remove(Manifest.FILE_NAME);
        Map<String, Json.Value> out = new LinkedHashMap<>();
        for (Map.Entry<String, Path> file : files.entrySet()) {
            Path f = file.getValue();
            Map<String, Json.Value> entry = new LinkedHashMap<>();
            try {
                entry.put("sha256", new Json.Str(ManifestVerifier.sha256(f)));
                entry.put("bytes", new Json.Num(Long.toString(Files.size(f)), true));
            } catch (IOException e) {
                throw StatusException.internal("cannot read " + ModelLocation.join(shown, file.getKey()) + ": "
                        + e.getMessage());
            }
            out.put(file.getKey(), new Json.Obj(entry));
        }
        return new Json.Obj(out);
    }


    /**
     * Copies a folder tree.
     *
     * @param from the source folder
     * @param to the destination (must not exist)
     * @throws IOException when copying fails
     */
    public static void copyTree(Path from, Path to) throws IOException {
        Files.walkFileTree(from, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
                Files.createDirectories(to.resolve(from.relativize(d).toString()));
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
                Files.copy(f, to.resolve(from.relativize(f).toString()), StandardCopyOption.COPY_ATTRIBUTES);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    private static void deleteTree(Path root) throws IOException {
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
                Files.delete(f);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                if (e != null) {
                    throw e;
                }
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** fsyncs every file and folder under root. */
    private static void syncTree(Path root) throws IOException {
        List<Path> all;
        try (Stream<Path> s = Files.walk(root)) {
            all = s.toList();
        }
        for (Path p : all) {
            sync(p);
        }
    }

    private static void sync(Path p) {
        try (FileChannel c = FileChannel.open(p, StandardOpenOption.READ)) {
            c.force(true);
        } catch (IOException ignored) {
            // folders cannot be synced on every platform; the rename is what publishes
        }
    }
}
