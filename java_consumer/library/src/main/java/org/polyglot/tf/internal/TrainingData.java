package org.polyglot.tf.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * The CSV training data of the {@code train} command (tests/CONTRACT.md, "Training", "Data"):
 * one float32 column per name, rows in file order.
 *
 * <p>{@code --data} is one CSV file or a folder whose regular files with a name ending in
 * {@code .csv} (and longer than that) are read in byte order of their UTF-8 names. A file is
 * UTF-8 text; lines end at {@code \n}, a {@code \r} just before it belonging to the line end,
 * and nothing else ends a line; fields are the pieces of a line between {@code ,}, each trimmed of
 * ASCII white space ({@link #WHITE_SPACE}) and nothing else; a line whose trimmed text is empty is
 * skipped. The first line's fields must be the columns; each further line holds one decimal
 * literal per column, read by {@link Numbers#parseDecimalFloat32} (tests/CONTRACT.md, "Decimal
 * numbers in text input"). Files are named in messages as {@code --data} was given, joined with
 * their names ({@link ModelLocation#join}).
 *
 * @param columns the column names, in order
 * @param values one float32 array of length {@link #rows()} per column, in the order of
 *     {@code columns}
 * @param files one description per file read, in reading order
 */
public record TrainingData(List<String> columns, List<float[]> values, List<FileInfo> files) {

    /** What a line and its fields are trimmed of: ASCII white space (tests/CONTRACT.md, "Data"). */
    static final String WHITE_SPACE = " \t\n\u000B\f\r";

    /** A CSV file name: ends in {@code .csv} and is longer than that. */
    private static final String CSV_SUFFIX = ".csv";

    /**
     * One file that was read, as the manifest's {@code training.run.data} lists it.
     *
     * @param file the file name (without its folder)
     * @param sha256 the hex SHA-256 of its bytes
     * @param rows the number of data rows it held
     */
    public record FileInfo(String file, String sha256, long rows) {
    }

    /** A file to read: where it is, its name, and how messages write it. */
    private record Source(Path path, String name, String shown) {
    }

    /**
     * Returns the number of rows (the same in every column).
     *
     * @return the row count, at least 1
     */
    public int rows() {
        return values.get(0).length;
    }

    /**
     * Returns a column's values.
     *
     * @param i the column index
     * @return the float32 values, one per row (do not modify)
     */
    public float[] column(int i) {
        return values.get(i);
    }

    /**
     * Reads the data.
     *
     * @param path the {@code --data} argument, as given: a CSV file or a folder of CSV files
     * @param columns the column names (the header line's fields must be them)
     * @return the data
     * @throws StatusException {@code --data <file>[:<line>]: ...} for a missing path,
     *     a folder without {@code .csv} file, an unreadable or non-UTF-8 file, a wrong header, a
     *     line with too few or too many fields, a value that is not a finite float32, or no data
     *     row at all
     */
    public static TrainingData read(String path, List<String> columns) {
        List<Source> files = sources(path);
        String header = String.join(",", columns);
        FloatList[] values = new FloatList[columns.size()];
        for (int c = 0; c < values.length; c++) {
            values[c] = new FloatList();
        }
        List<FileInfo> described = new ArrayList<>();
        for (Source file : files) {
            byte[] bytes;
            String text;
            try {
                bytes = Files.readAllBytes(file.path());
                text = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(bytes)).toString();
            } catch (IOException e) {
                throw StatusException.invalidArgument("--data " + file.shown() + ": cannot read it as UTF-8 text: " + e);
            }
            List<String> lines = lines(text);
            if (lines.isEmpty() || !fields(lines.get(0)).equals(columns)) {
                throw StatusException.invalidArgument("--data " + file.shown() + ": line 1 must be the header "
                        + Echo.quoted(header));
            }
            long rows = 0;
            for (int n = 1; n < lines.size(); n++) {
                String line = lines.get(n);
                if (trim(line).isEmpty()) {
                    continue;
                }
                List<String> fields = fields(line);
                int number = n + 1;
                if (fields.size() != columns.size()) {
                    throw StatusException.invalidArgument("--data " + file.shown() + ":" + number + ": " + fields.size()
                            + " fields, expected " + columns.size() + " (" + header + ")");
                }
                for (int c = 0; c < fields.size(); c++) {
                    values[c].add(parseValue(fields.get(c), file.shown(), number, columns.get(c)));
                }
                rows++;
            }
            described.add(new FileInfo(file.name(), sha256(bytes), rows));
        }
        if (values[0].size == 0) {
            throw StatusException.invalidArgument("--data " + path + ": no data rows");
        }
        List<float[]> arrays = new ArrayList<>(values.length);
        for (FloatList v : values) {
            arrays.add(v.toArray());
        }
        return new TrainingData(List.copyOf(columns), List.copyOf(arrays), List.copyOf(described));
    }

    /** The files {@code --data} names: the file itself, or the folder's CSV files in byte order of their names. */
    private static List<Source> sources(String path) {
        Path source;
        try {
            source = Paths.get(path);
        } catch (InvalidPathException e) {
            throw StatusException.invalidArgument("--data " + path + ": not a valid path: " + e.getMessage());
        }
        if (Files.isDirectory(source)) {
            List<String> names = new ArrayList<>();
            try (Stream<Path> children = Files.list(source)) {
                children.forEach(p -> {
                    String name = p.getFileName().toString();
                    if (isCsvName(name) && Files.isRegularFile(p)) {
                        names.add(name);
                    }
                });
            } catch (IOException e) {
                throw StatusException.invalidArgument("--data " + path + ": cannot list the folder: " + e.getMessage());
            }
            if (names.isEmpty()) {
                throw StatusException.invalidArgument("--data " + path + ": no .csv shard in this folder");
            }
            names.sort(UTF8_ORDER);
            List<Source> files = new ArrayList<>(names.size());
            for (String name : names) {
                files.add(new Source(source.resolve(name), name, ModelLocation.join(path, name)));
            }
            return files;
        }
        if (Files.isRegularFile(source)) {
            Path name = source.getFileName();
            return List.of(new Source(source, name == null ? path : name.toString(), path));
        }
        throw StatusException.notFound("--data " + path + ": no such file or folder");
    }

    /** Byte order of the UTF-8 encodings. */
    private static final Comparator<String> UTF8_ORDER = (a, b) -> Arrays.compareUnsigned(
            a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));

    /**
     * Splits a file's text into lines (tests/CONTRACT.md, "Data"): a line ends at {@code \n}, a
     * {@code \r} just before it belonging to the line end; the last line may lack an end; no other
     * character ends a line.
     *
     * @param text the file's text
     * @return the lines without their ends; none for an empty text
     */
    static List<String> lines(String text) {
        List<String> lines = new ArrayList<>();
        int start = 0;
        while (start < text.length()) {
            int end = text.indexOf('\n', start);
            int next = end < 0 ? text.length() : end + 1;
            if (end < 0) {
                end = text.length();
            } else if (end > start && text.charAt(end - 1) == '\r') {
                end--;
            }
            lines.add(text.substring(start, end));
            start = next;
        }
        return lines;
    }

    /**
     * Splits a line into its fields at every {@code ,}, each trimmed ({@link #trim}).
     *
     * @param line the line
     * @return the fields, at least one
     */
    static List<String> fields(String line) {
        List<String> fields = new ArrayList<>();
        for (String f : line.split(",", -1)) {
            fields.add(trim(f));
        }
        return fields;
    }

    /**
     * Trims ASCII white space ({@link #WHITE_SPACE}: space, tab, line feed, vertical tab, form
     * feed, carriage return) from both ends, and nothing else (not {@link String#strip}, which
     * also takes Unicode spaces, nor {@link String#trim}, which takes every control character).
     *
     * @param s the text
     * @return the trimmed text
     */
    static String trim(String s) {
        int b = 0;
        int e = s.length();
        while (b < e && WHITE_SPACE.indexOf(s.charAt(b)) >= 0) {
            b++;
        }
        while (e > b && WHITE_SPACE.indexOf(s.charAt(e - 1)) >= 0) {
            e--;
        }
        return s.substring(b, e);
    }

    /**
     * Parses one (trimmed) field: a decimal literal whose float32 value is finite.
     *
     * @param field the field text
     * @param file the file as messages name it
     * @param line the 1-based line number (for the message)
     * @param column the column name (for the message)
     * @return the float32 value, rounded once from the decimal
     * @throws StatusException {@code --data <file>:<line>: column <c> is "<text>",
     *     expected a finite float32}
     */
    static float parseValue(String field, String file, int line, String column) {
        float v;
        try {
            v = Numbers.parseDecimalFloat32(field);
        } catch (NumberFormatException e) {
            v = Float.NaN;
        }
        if (!Float.isFinite(v)) {
            throw StatusException.invalidArgument("--data " + file + ":" + line + ": column " + column + " is "
                    + Echo.quoted(field) + ", expected a finite float32");
        }
        return v;
    }

    /**
     * Returns the row indices of the batch applied at {@code globalStep}: rows
     * {@code (globalStep * batchSize + i) mod rows} for {@code i} in {@code [0, batchSize)}, so
     * that the data is read in order, wrapping around, and a resumed run continues exactly where
     * the earlier one stopped.
     *
     * @param globalStep the number of steps applied so far (any int64; the modulo is the
     *     mathematical one, never negative)
     * @param batchSize the rows per step, at least 1
     * @param rows the number of data rows, at least 1
     * @return {@code batchSize} indices in {@code [0, rows)}
     */
    public static int[] batchIndices(long globalStep, int batchSize, int rows) {
        // (g*B + i) mod R computed without overflow: ((g mod R) * (B mod R) + i) mod R.
        long start = Math.floorMod(Math.floorMod(globalStep, (long) rows) * (long) Math.floorMod(batchSize, rows),
                (long) rows);
        int[] idx = new int[batchSize];
        for (int i = 0; i < batchSize; i++) {
            idx[i] = (int) ((start + i) % rows);
        }
        return idx;
    }

    /**
     * Gathers a column's values at the given rows (one batch).
     *
     * @param column the column index
     * @param indices row indices from {@link #batchIndices}
     * @return a DT_FLOAT tensor of shape {@code [indices.length]}
     */
    public HostTensor batch(int column, int[] indices) {
        float[] src = values.get(column);
        long[] shape = {indices.length};
        ByteBuffer b = HostTensor.allocate(DType.FLOAT, shape);
        for (int i = 0; i < indices.length; i++) {
            b.putFloat(i * 4, src[indices[i]]);
        }
        return HostTensor.numeric(DType.FLOAT, shape, b);
    }

    /**
     * Whether a folder entry's name is a CSV file's: it ends in {@code .csv} and is longer than
     * that.
     *
     * @param name the file name
     * @return true for {@code a.csv}, {@code ..csv}; false for {@code .csv}, {@code a.csv.bak}
     */
    static boolean isCsvName(String name) {
        return name.length() > CSV_SUFFIX.length() && name.endsWith(CSV_SUFFIX);
    }

    /**
     * Returns the hex SHA-256 of bytes.
     *
     * @param bytes the bytes
     * @return 64 lower-case hex digits
     */
    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A growable float array. */
    private static final class FloatList {
        private float[] a = new float[1024];
        private int size;

        void add(float v) {
            if (size == a.length) {
                a = Arrays.copyOf(a, a.length * 2);
            }
            a[size++] = v;
        }

        float[] toArray() {
            return Arrays.copyOf(a, size);
        }
    }
}
