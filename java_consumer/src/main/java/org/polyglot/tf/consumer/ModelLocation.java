package org.polyglot.tf.consumer;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Where a model version lives: resolves the {@code --model PATH} / {@code --version N} pair of the
 * command line to one version folder.
 *
 * <p>{@code PATH} is either a version folder (it contains {@code saved_model.pb}) or a model
 * folder whose versions are sub-folders named by a positive decimal integer ({@code ^[0-9]+$},
 * value &gt; 0) that contain {@code saved_model.pb}; a name with leading zeros ({@code 007}) is
 * the version of its value, loaded from the folder of that name, and when several folders name
 * the same version the name sorting last byte by byte wins; folders being written
 * ({@code .tmp-<version>-<pid>}) and incomplete versions are ignored. Without {@code --version}
 * the highest version is used.
 *
 * @param dir the absolute version folder (see {@link #absolute(String)})
 * @param version the version number, or {@code null} when the folder's name is not a positive
 *     integer (a version folder given directly under another name)
 */
public record ModelLocation(Path dir, BigInteger version) {

    private static final Pattern VERSION_NAME = Pattern.compile("[0-9]+");

    /** The SavedModel file name. */
    public static final String SAVED_MODEL_PB = "saved_model.pb";

    /**
     * Resolves the command-line model path and optional version.
     *
     * @param path the {@code --model} argument
     * @param requested the {@code --version} argument, or {@code null}
     * @return the version folder
     * @throws ConsumerException (refusal) when the path does not exist, is no model, or has no
     *     such version
     */
    public static ModelLocation resolve(String path, Long requested) {
        if (path == null || path.isEmpty()) {
            throw ConsumerException.refusal("--model needs a path");
        }
        if (requested != null && requested <= 0) {
            throw ConsumerException.refusal("--version must be a positive integer, got " + requested);
        }
        Path p;
        try {
            p = absolute(path);
        } catch (java.nio.file.InvalidPathException e) {
            throw ConsumerException.refusal("invalid model path " + Echo.quotedSingle(path) + ": " + e.getMessage());
        }
        if (!Files.exists(p)) {
            throw ConsumerException.refusal("model path " + Echo.quotedSingle(path) + " does not exist");
        }
        if (!Files.isDirectory(p)) {
            throw ConsumerException.refusal("model path " + Echo.quotedSingle(path) + " is not a folder (expected a model folder "
                    + "with version sub-folders, or a version folder containing " + SAVED_MODEL_PB + ")");
        }
        if (Files.isRegularFile(p.resolve(SAVED_MODEL_PB))) {
            String name = p.getFileName() == null ? "" : p.getFileName().toString();
            BigInteger v = parseVersion(name);
            if (requested != null && (v == null || !v.equals(BigInteger.valueOf(requested)))) {
                throw ConsumerException.refusal("model path " + Echo.quotedSingle(path) + " is the version folder " + Echo.quotedSingle(name)
                        + ", which is not version " + requested);
            }
            return new ModelLocation(p, v);
        }
        TreeMap<BigInteger, Path> versions = new TreeMap<>();
        try (Stream<Path> children = Files.list(p)) {
            for (Path c : (Iterable<Path>) children::iterator) {
                BigInteger v = parseVersion(c.getFileName().toString());
                if (v != null && Files.isDirectory(c) && Files.isRegularFile(c.resolve(SAVED_MODEL_PB))) {
                    // Several spellings of one version (7, 07): the name sorting last byte by byte
                    // (the fewest leading zeros) is that version. Names are ASCII digits, so
                    // String order is byte order.
                    versions.merge(v, c, (a, b) -> a.getFileName().toString()
                            .compareTo(b.getFileName().toString()) >= 0 ? a : b);
                }
            }
        } catch (IOException e) {
            throw ConsumerException.refusal("cannot list model folder " + Echo.quotedSingle(path) + ": " + e.getMessage());
        }
        if (versions.isEmpty()) {
            throw ConsumerException.refusal(Echo.quotedSingle(path) + " is not a model: it has no " + SAVED_MODEL_PB
                    + " and no version sub-folder (a positive integer name) containing " + SAVED_MODEL_PB);
        }
        if (requested == null) {
            var last = versions.lastEntry();
            return new ModelLocation(last.getValue(), last.getKey());
        }
        Path dir = versions.get(BigInteger.valueOf(requested));
        if (dir == null) {
            List<String> have = new ArrayList<>();
            versions.keySet().forEach(v -> have.add(v.toString()));
            throw ConsumerException.refusal("model " + Echo.quotedSingle(path) + " has no version " + requested
                    + " (available versions: " + have.stream().collect(Collectors.joining(", ")) + ")");
        }
        return new ModelLocation(dir, BigInteger.valueOf(requested));
    }

    /**
     * Makes a path absolute the way Python's {@code pathlib.Path.absolute()} does: relative to the
     * working directory, without {@code .} components, {@code ..} kept (symbolic links are not
     * resolved).
     *
     * @param path the path as given
     * @return the absolute path
     */
    static Path absolute(String path) {
        Path abs = Paths.get(path).toAbsolutePath();
        Path out = abs.getRoot();
        for (Path part : abs) {
            if (!part.toString().equals(".")) {
                out = out == null ? part : out.resolve(part);
            }
        }
        return out == null ? abs : out;
    }

    /**
     * Reads a version folder name.
     *
     * @param name the folder name
     * @return its value when it is a positive decimal integer, else {@code null}
     */
    static BigInteger parseVersion(String name) {
        if (!VERSION_NAME.matcher(name).matches()) {
            return null;
        }
        BigInteger v = new BigInteger(name);
        return v.signum() > 0 ? v : null;
    }
}
