package org.polyglot.tf.consumer;

import java.io.IOException;
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
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Stages and atomically publishes a new version {@code <model folder>/<highest + 1>/}, as the
 * producer does (tests/CONTRACT.md, "Model layout"): everything is written into
 * {@code <model folder>/.tmp-<version>-<pid>/}, the manifest last, and the folder is then renamed
 * into place, so a consumer never sees half a version.
 */
public final class VersionWriter {

    private static final DateTimeFormatter CREATED = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss'Z'");

    private final Path modelRoot;
    private final BigInteger version;
    private final Path staging;
    private final Path finalPath;

    /**
     * Chooses the next version of a model folder and creates its (empty) staging folder,
     * replacing a stale one of the same name.
     *
     * @param modelRoot the model folder (absolute)
     * @throws ConsumerException (failure) when the folder cannot be listed or created
     */
    public VersionWriter(Path modelRoot) {
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
            throw ConsumerException.failure("cannot list the model folder " + modelRoot + ": " + e.getMessage());
        }
        this.version = highest.add(BigInteger.ONE);
        this.staging = modelRoot.resolve(".tmp-" + version + "-" + ProcessHandle.current().pid());
        this.finalPath = modelRoot.resolve(version.toString());
        try {
            if (Files.exists(staging)) {
                deleteTree(staging);
            }
            Files.createDirectories(staging);
        } catch (IOException e) {
            throw ConsumerException.failure("cannot create the staging folder " + staging + ": " + e.getMessage());
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
     * Completes a manifest and publishes the version: sets {@code version},
     * {@code tensorflow_version}, {@code created} (UTC, {@code yyyy-MM-ddTHH:mm:ssZ}) and
     * {@code files} (see {@link #fileHashes(Path)}), keeping every other member and the order of
     * existing members; writes it as {@code manifest.json} (Python's {@code json.dumps(indent=2)}
     * form plus a newline); syncs the files; renames the staging folder into place
     * ({@link StandardCopyOption#ATOMIC_MOVE}).
     *
     * @param manifest the manifest's members
     * @param tensorflowVersion the runtime's {@code TF_Version()}
     * @return the published folder
     * @throws ConsumerException (failure) when writing fails or the version appeared meanwhile
     */
    public Path publish(Map<String, Json.Value> manifest, String tensorflowVersion) {
        Map<String, Json.Value> m = new LinkedHashMap<>(manifest);
        m.put("version", new Json.Num(version.toString(), true));
        m.put("tensorflow_version", new Json.Str(tensorflowVersion));
        m.put("created", new Json.Str(ZonedDateTime.now(ZoneOffset.UTC).format(CREATED)));
        m.put("files", fileHashes(staging));
        try {
            Files.write(staging.resolve(Manifest.FILE_NAME),
                    (Json.pythonIndented(new Json.Obj(m)) + "\n").getBytes(StandardCharsets.UTF_8));
            syncTree(staging);
            if (Files.exists(finalPath)) {
                throw ConsumerException.failure(finalPath + " appeared while exporting; not overwriting it");
            }
            try {
                Files.move(staging, finalPath, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                throw ConsumerException.failure("cannot rename " + staging + " to " + finalPath + " atomically");
            }
            sync(modelRoot);
        } catch (IOException e) {
            throw ConsumerException.failure("cannot publish " + finalPath + ": " + e.getMessage());
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
     * {@code {"<relative/path>": {"sha256": hex, "bytes": n}}}, keys with {@code /} separators,
     * sorted component by component (as Python sorts paths).
     *
     * @param dir the version folder
     * @return the {@code files} object of the manifest
     * @throws ConsumerException (failure) when a file cannot be read
     */
    public static Json.Obj fileHashes(Path dir) {
        List<Path> files = new ArrayList<>();
        try (Stream<Path> all = Files.walk(dir)) {
            all.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).forEach(files::add);
        } catch (IOException e) {
            throw ConsumerException.failure("cannot list " + dir + ": " + e.getMessage());
        }
        List<List<String>> rels = new ArrayList<>();
        for (Path f : files) {
            List<String> parts = new ArrayList<>();
            dir.relativize(f).forEach(p -> parts.add(p.toString()));
            rels.add(parts);
        }
        rels.sort(PARTS_ORDER);
        Map<String, Json.Value> out = new LinkedHashMap<>();
        for (List<String> parts : rels) {
            String rel = String.join("/", parts);
            if (rel.equals(Manifest.FILE_NAME)) {
                continue;
            }
            Path f = dir.resolve(rel);
            Map<String, Json.Value> entry = new LinkedHashMap<>();
            try {
                entry.put("sha256", new Json.Str(ManifestVerifier.sha256(f)));
                entry.put("bytes", new Json.Num(Long.toString(Files.size(f)), true));
            } catch (IOException e) {
                throw ConsumerException.failure("cannot read " + f + ": " + e.getMessage());
            }
            out.put(rel, new Json.Obj(entry));
        }
        return new Json.Obj(out);
    }

    /** Component-wise code-point order, as Python compares {@code PurePosixPath}s. */
    private static final Comparator<List<String>> PARTS_ORDER = (a, b) -> {
        for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
            int c = SignatureSpec.CODE_POINT_ORDER.compare(a.get(i), b.get(i));
            if (c != 0) {
                return c;
            }
        }
        return Integer.compare(a.size(), b.size());
    };


    /**
     * Copies a folder tree.
     *
     * @param from the source folder
     * @param to the destination (must not exist)
     * @throws IOException when copying fails
     */
    static void copyTree(Path from, Path to) throws IOException {
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
