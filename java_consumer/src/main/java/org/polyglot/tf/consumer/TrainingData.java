package org.polyglot.tf.consumer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The CSV training data of the {@code train} command (tests/CONTRACT.md, "Training", "Data"):
 * one float32 column per name, rows in file order.
 *
 * <p>{@code --data} is one CSV file or a folder whose {@code *.csv} files are read in code-point
 * (= UTF-8 byte) order of their names. Every file starts with the header line (the columns joined
 * by {@code ,}); every further non-blank line holds one decimal number per column, parsed with
 * {@link Float#parseFloat} (correct rounding directly to float32). Blank lines are skipped. Lines
 * are split and fields trimmed as Python's {@code str.splitlines} / {@code str.strip} do, so the
 * line numbers in messages are those of the Python reference.
 *
 * @param columns the column names, in order
 * @param values one float32 array of length {@link #rows()} per column, in the order of
 *     {@code columns}
 * @param files one description per file read, in reading order
 */
public record TrainingData(List<String> columns, List<float[]> values, List<FileInfo> files) {

    /** A plain decimal literal: what a CSV field may hold (no hex, no {@code f}/{@code d} suffix). */
    private static final Pattern DECIMAL = Pattern.compile("[+-]?(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?");

    /**
     * One file that was read, as the manifest's {@code training.run.data} lists it.
     *
     * @param file the file name (without its folder)
     * @param sha256 the hex SHA-256 of its bytes
     * @param rows the number of data rows it held
     */
    public record FileInfo(String file, String sha256, long rows) {
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
     * @param path the {@code --data} argument: a CSV file or a folder of {@code *.csv} files
     * @param columns the column names (the header must be them joined by {@code ,})
     * @return the data
     * @throws ConsumerException (refusal) {@code --data <file>[:<line>]: ...} for a missing path,
     *     a folder without {@code .csv} file, an unreadable or non-UTF-8 file, a wrong header, a
     *     line with too few or too many fields, a value that is not a finite float32, or no data
     *     row at all
     */
    public static TrainingData read(String path, List<String> columns) {
        Path source;
        try {
            source = pythonPath(path);
        } catch (java.nio.file.InvalidPathException e) {
            throw ConsumerException.refusal("--data " + path + ": not a valid path: " + e.getMessage());
        }
        List<Path> files;
        if (Files.isDirectory(source)) {
            try (Stream<Path> children = Files.list(source)) {
                files = new ArrayList<>(children.filter(p -> isCsvName(p.getFileName().toString())
                        && Files.isRegularFile(p)).toList());
            } catch (IOException e) {
                throw ConsumerException.refusal("--data " + path + ": cannot list the folder: " + e.getMessage());
            }
            if (files.isEmpty()) {
                throw ConsumerException.refusal("--data " + path + ": no .csv shard in this folder");
            }
            files.sort((a, b) -> SignatureSpec.CODE_POINT_ORDER.compare(a.getFileName().toString(),
                    b.getFileName().toString()));
        } else if (Files.isRegularFile(source)) {
            files = List.of(source);
        } else {
            throw ConsumerException.refusal("--data " + path + ": no such file or folder");
        }
        String header = String.join(",", columns);
        FloatList[] values = new FloatList[columns.size()];
        for (int c = 0; c < values.length; c++) {
            values[c] = new FloatList();
        }
        List<FileInfo> described = new ArrayList<>();
        for (Path file : files) {
            byte[] bytes;
            String text;
            try {
                bytes = Files.readAllBytes(file);
                text = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException e) {
                throw ConsumerException.refusal("--data " + file + ": cannot read it as UTF-8 text: " + e);
            } catch (IOException e) {
                throw ConsumerException.refusal("--data " + file + ": cannot read it as UTF-8 text: " + e);
            }
            List<String> lines = splitLines(text);
            if (lines.isEmpty() || !strip(lines.get(0)).equals(header)) {
                throw ConsumerException.refusal("--data " + file + ": line 1 must be the header " + Echo.quoted(header));
            }
            long rows = 0;
            for (int n = 1; n < lines.size(); n++) {
                String line = lines.get(n);
                if (strip(line).isEmpty()) {
                    continue;
                }
                String[] fields = line.split(",", -1);
                int number = n + 1;
                if (fields.length != columns.size()) {
                    throw ConsumerException.refusal("--data " + file + ":" + number + ": " + fields.length
                            + " fields, expected " + columns.size() + " (" + header + ")");
                }
                for (int c = 0; c < fields.length; c++) {
                    values[c].add(parseValue(fields[c], file, number, columns.get(c)));
                }
                rows++;
            }
            described.add(new FileInfo(file.getFileName().toString(), sha256(bytes), rows));
        }
        if (values[0].size == 0) {
            throw ConsumerException.refusal("--data " + path + ": no data rows");
        }
        List<float[]> arrays = new ArrayList<>(values.length);
        for (FloatList v : values) {
            arrays.add(v.toArray());
        }
        return new TrainingData(List.copyOf(columns), List.copyOf(arrays), List.copyOf(described));
    }

    /**
     * Parses one field: surrounding whitespace is ignored; the rest must be a decimal literal
     * whose float32 value is finite.
     *
     * @param field the field text
     * @param file the file (for the message)
     * @param line the 1-based line number (for the message)
     * @param column the column name (for the message)
     * @return the float32 value, rounded directly from the decimal
     * @throws ConsumerException (refusal) {@code --data <file>:<line>: column <c> is "<text>",
     *     expected a finite float32}
     */
    static float parseValue(String field, Path file, int line, String column) {
        String t = strip(field);
        float v = Float.NaN;
        if (DECIMAL.matcher(t).matches()) {
            v = Float.parseFloat(t);
        }
        if (!Float.isFinite(v)) {
            throw ConsumerException.refusal("--data " + file + ":" + line + ": column " + column + " is \"" + t
                    + "\", expected a finite float32");
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

    /** Whether Python's {@code Path(name).suffix == ".csv"}. */
    static boolean isCsvName(String name) {
        return name.endsWith(".csv") && name.lastIndexOf('.') > 0;
    }

    /**
     * Returns a path as Python's {@code pathlib.Path(text)} prints it: {@code .} components and
     * repeated or trailing separators removed (so messages name files as the reference does).
     *
     * @param text the path as given
     * @return the path
     */
    static Path pythonPath(String text) {
        Path p = Paths.get(text);
        Path out = p.getRoot();
        for (Path part : p) {
            if (!part.toString().equals(".")) {
                out = out == null ? part : out.resolve(part);
            }
        }
        return out == null ? Paths.get(".") : out;
    }

    /**
     * Splits text into lines as Python's {@code str.splitlines()} does ({@code \n}, {@code \r\n},
     * {@code \r}, vertical tab, form feed, U+001C to U+001E, U+0085, U+2028, U+2029; no empty
     * last line for a final line break).
     *
     * @param text the text
     * @return the lines without their line breaks
     */
    static List<String> splitLines(String text) {
        List<String> lines = new ArrayList<>();
        int start = 0;
        int i = 0;
        int n = text.length();
        while (i < n) {
            char c = text.charAt(i);
            if (isLineBreak(c)) {
                lines.add(text.substring(start, i));
                i += c == '\r' && i + 1 < n && text.charAt(i + 1) == '\n' ? 2 : 1;
                start = i;
            } else {
                i++;
            }
        }
        if (start < n) {
            lines.add(text.substring(start));
        }
        return lines;
    }

    private static boolean isLineBreak(char c) {
        return c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || (c >= 0x1c && c <= 0x1e)
                || c == 0x85 || c == 0x2028 || c == 0x2029;
    }

    /**
     * Strips leading and trailing whitespace as Python's {@code str.strip()} does
     * ({@code str.isspace()}: Java's whitespace plus the no-break spaces and U+0085).
     *
     * @param s the text
     * @return the stripped text
     */
    static String strip(String s) {
        int b = 0;
        int e = s.length();
        while (b < e && isSpace(s.charAt(b))) {
            b++;
        }
        while (e > b && isSpace(s.charAt(e - 1))) {
            e--;
        }
        return s.substring(b, e);
    }

    private static boolean isSpace(char c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == 0x85;
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
