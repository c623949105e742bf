package org.polyglot.tf.internal;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
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
 * <p>Paths are written as tests/CONTRACT.md, "Paths in messages", says: as the user gave them,
 * never normalized. {@link #shown()} is the version folder's text, built by concatenation
 * ({@link #absolute(String)}, {@link #join(String, String)}); {@link #dir()} is the same folder
 * for file access only ({@link Path} drops repeated and trailing {@code /}, so its text is never
 * printed).
 *
 * @param dir the version folder, for reading its files
 * @param version the version number, or {@code null} when the folder's name is not a positive
 *     integer (a version folder given directly under another name)
 * @param shown the version folder as messages and reports write it: the absolute {@code --model}
 *     text, joined with the version folder's name when {@code --model} is a model folder
 */
public record ModelLocation(Path dir, BigInteger version, String shown) {

    private static final Pattern VERSION_NAME = Pattern.compile("[0-9]+");

    /** The SavedModel file name. */
    public static final String SAVED_MODEL_PB = "saved_model.pb";

    /**
     * A location whose text is its path's (for folders the program made itself, such as a
     * staged version, and tests).
     *
     * @param dir the version folder
     * @param version the version number, or {@code null}
     */
    public ModelLocation(Path dir, BigInteger version) {
        this(dir, version, dir.toString());
    }

    /**
     * Resolves the command-line model path and optional version.
     *
     * @param path the {@code --model} argument
     * @param requested the {@code --version} argument, or {@code null}
     * @return the version folder
     * @throws StatusException the catalog's {@code model_path_missing}, {@code not_a_model},
     *     {@code version_not_found} ({@link Code#NOT_FOUND}), {@code model_path_not_a_folder} or
     *     {@code version_mismatch} ({@link Code#INVALID_ARGUMENT})
     */
    public static ModelLocation resolve(String path, Long requested) {
        if (path == null || path.isEmpty()) {
            throw StatusException.invalidArgument("--model needs a path");
        }
        if (requested != null && requested <= 0) {
            throw StatusException.invalidArgument("--version must be a positive integer, got " + requested);
        }
        String given = absolute(path);
        Path p;
        try {
            p = Paths.get(given);
        } catch (java.nio.file.InvalidPathException e) {
            throw StatusException.invalidArgument("invalid model path " + Echo.quotedSingle(given) + ": " + e.getMessage());
        }
        if (!Files.exists(p)) {
            throw Messages.error("model_path_missing", Map.of("path", given));
        }
        if (!Files.isDirectory(p)) {
            throw Messages.error("model_path_not_a_folder", Map.of("path", given));
        }
        if (Files.isRegularFile(p.resolve(SAVED_MODEL_PB))) {
            String name = p.getFileName() == null ? "" : p.getFileName().toString();
            BigInteger v = parseVersion(name);
            if (requested != null && (v == null || !v.equals(BigInteger.valueOf(requested)))) {
                throw Messages.error("version_mismatch", Map.of("version", requested.toString(), "path", given));
            }
            return new ModelLocation(p, v, given);
        }
        TreeMap<BigInteger, String> versions = new TreeMap<>();
        try (Stream<Path> children = Files.list(p)) {
            for (Path c : (Iterable<Path>) children::iterator) {
                String name = c.getFileName().toString();
                BigInteger v = parseVersion(name);
                if (v != null && Files.isDirectory(c) && Files.isRegularFile(c.resolve(SAVED_MODEL_PB))) {
                    // Several spellings of one version (7, 07): the name sorting last byte by byte
                    // (the fewest leading zeros) is that version. Names are ASCII digits, so
                    // String order is byte order.
                    versions.merge(v, name, (a, b) -> a.compareTo(b) >= 0 ? a : b);
                }
            }
        } catch (IOException e) {
            throw StatusException.invalidArgument("cannot list model folder " + Echo.quotedSingle(given) + ": " + e.getMessage());
        }
        if (versions.isEmpty()) {
            throw Messages.error("not_a_model", Map.of("path", given));
        }
        if (requested == null) {
            var last = versions.lastEntry();
            return new ModelLocation(p.resolve(last.getValue()), last.getKey(), join(given, last.getValue()));
        }
        String name = versions.get(BigInteger.valueOf(requested));
        if (name == null) {
            List<String> have = new ArrayList<>();
            versions.keySet().forEach(v -> have.add(v.toString()));
            throw Messages.error("version_not_found", Map.of("version", requested.toString(), "path", given,
                    "available", String.join(", ", have)));
        }
        return new ModelLocation(p.resolve(name), BigInteger.valueOf(requested), join(given, name));
    }

    /**
     * Makes a path absolute as tests/CONTRACT.md, "Paths in messages", says: by concatenation,
     * never cleaned ({@code .}, {@code ..}, repeated and trailing {@code /} stay as typed).
     *
     * @param path the path as given
     * @return {@code path} when it starts with {@code /}, else the working directory
     *     ({@code user.dir}) joined with it by {@link #join(String, String)}
     */
    public static String absolute(String path) {
        return path.startsWith("/") ? path : join(System.getProperty("user.dir"), path);
    }

    /**
     * Writes a file or folder found inside a folder the user gave (tests/CONTRACT.md, "Paths in
     * messages"): the folder's text, a {@code /} unless it already ends with one, and the name.
     *
     * @param folder the folder's text, as given
     * @param name the name (or a relative path) inside it
     * @return e.g. {@code shards/a.csv} for {@code shards/} and {@code a.csv},
     *     {@code models/linear/3} for {@code models/linear} and {@code 3}
     */
    public static String join(String folder, String name) {
        return folder.endsWith("/") ? folder + name : folder + "/" + name;
    }

    /**
     * Writes the folder holding a path, as given: its text up to the last {@code /} before its
     * last name, a trailing {@code /} not being a name ({@code models/linear/3/} gives
     * {@code models/linear}; {@code /3} gives {@code /}).
     *
     * @param path the path's text (absolute, as {@link #shown()} is)
     * @return the parent's text
     */
    public static String parent(String path) {
        String t = path;
        while (t.endsWith("/") && t.length() > 1) {
            t = t.substring(0, t.length() - 1);
        }
        int slash = t.lastIndexOf('/');
        return slash <= 0 ? "/" : t.substring(0, slash);
    }

    /**
     * Reads a version folder name.
     *
     * @param name the folder name
     * @return its value when it is a positive decimal integer, else {@code null}
     */
    public static BigInteger parseVersion(String name) {
        if (!VERSION_NAME.matcher(name).matches()) {
            return null;
        }
        BigInteger v = new BigInteger(name);
        return v.signum() > 0 ? v : null;
    }
}
