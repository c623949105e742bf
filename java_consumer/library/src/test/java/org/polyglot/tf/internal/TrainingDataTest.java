package org.polyglot.tf.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CSV training data: reading, refusals (tests/cases/bad_train.json) and batch order. */
class TrainingDataTest {

    private static final List<String> XY = List.of("x", "y");

    @TempDir
    Path temp;

    private Path write(String name, String text) throws IOException {
        return Files.write(temp.resolve(name), text.getBytes(StandardCharsets.UTF_8));
    }

    private static String refusal(Path data) {
        return refusal(data, Code.INVALID_ARGUMENT);
    }

    private static String refusal(Path data, Code code) {
        StatusException e = assertThrows(StatusException.class, () -> TrainingData.read(data.toString(), XY));
        assertEquals(code, e.code(), e.getMessage());
        return e.getMessage();
    }

    @Test
    void readsAFolderInByteOrderOfNamesSkippingBlankLines() throws IOException {
        write("train-00001-of-00002.csv", "x,y\n3,4\n\n  \n5.5,-6e-1\n");
        write("train-00000-of-00002.csv", "x,y\r\n1,2\r\n");
        write("notes.txt", "x,y\n100,100\n");
        write(".csv", "x,y\n100,100\n");
        Files.createDirectories(temp.resolve("folder.csv"));
        TrainingData d = TrainingData.read(temp.toString(), XY);
        assertEquals(3, d.rows());
        assertArrayEquals(new float[] {1f, 3f, 5.5f}, d.column(0));
        assertArrayEquals(new float[] {2f, 4f, -0.6f}, d.column(1));
        assertEquals(2, d.files().size());
        assertEquals("train-00000-of-00002.csv", d.files().get(0).file());
        assertEquals(1, d.files().get(0).rows());
        assertEquals(2, d.files().get(1).rows());
        assertEquals(TrainingData.sha256("x,y\r\n1,2\r\n".getBytes(StandardCharsets.UTF_8)),
                d.files().get(0).sha256());
        assertEquals(64, d.files().get(0).sha256().length());
    }

    @Test
    void namesAreOrderedByTheirUtf8Bytes() throws IOException {
        // 'z' (0x7a), U+00E9 (0xc3 0xa9), U+FF21 (0xef ...), U+1F600 (0xf0 ...): by UTF-16 units
        // U+1F600, a surrogate pair (0xd83d ...), would sort before U+FF21.
        try {
            write("\ud83d\ude00.csv", "x,y\n4,4\n");
            write("\uff21.csv", "x,y\n3,3\n");
            write("\u00e9.csv", "x,y\n2,2\n");
            write("z.csv", "x,y\n1,1\n");
        } catch (java.nio.file.InvalidPathException e) {
            org.junit.jupiter.api.Assumptions.assumeTrue(false, "the file system cannot name non-ASCII files");
        }
        TrainingData d = TrainingData.read(temp.toString(), XY);
        assertArrayEquals(new float[] {1f, 2f, 3f, 4f}, d.column(0));
    }

    @Test
    void readsOneFileTrimmingAsciiWhiteSpaceOfHeaderAndFields() throws IOException {
        Path f = write("a.csv", " x , y\t\n\u000b0.1 ,\f1e-3\r\n");
        TrainingData d = TrainingData.read(f.toString(), XY);
        assertArrayEquals(new float[] {0.1f}, d.column(0));
        assertArrayEquals(new float[] {0.001f}, d.column(1));
    }

    @Test
    void roundsOnceToFloat32() throws IOException {
        // 1 + 2^-24 + 2^-80 rounds up to the next float; through double it would tie to 1.0.
        String x = new java.math.BigDecimal(1).add(new java.math.BigDecimal(0x1p-24))
                .add(new java.math.BigDecimal(0x1p-80)).toPlainString();
        Path f = write("a.csv", "x,y\n" + x + ",16777217\n");
        TrainingData d = TrainingData.read(f.toString(), XY);
        assertEquals(Math.nextUp(1.0f), d.column(0)[0]);
        assertEquals(16777216f, d.column(1)[0]);
    }

    @Test
    void linesEndAtLineFeedOnly() throws IOException {
        // CRLF files: the \r belongs to the line end; line numbers count \n only.
        Path crlf = write("crlf.csv", "x,y\r\n1,2\r\n\r\n3,four\r\n");
        assertTrue(refusal(crlf).endsWith("crlf.csv:4: column y is \"four\", expected a finite float32"),
                refusal(crlf));
        // A lone \r inside a line is not a line end: "1,2\r3,4" is one line of three fields.
        String m = refusal(write("cr.csv", "x,y\n1,2\r3,4\n"));
        assertTrue(m.endsWith("cr.csv:2: 3 fields, expected 2 (x,y)"), m);
        // Nor are the other characters some libraries take for line breaks.
        for (String sep : new String[] {"\u000b", "\f", "\u001c", "\u0085", "\u2028", "\u2029"}) {
            m = refusal(write("sep.csv", "x,y\n1,2" + sep + "3,4\n"));
            assertTrue(m.contains("sep.csv:2: 3 fields"), m);
        }
        assertEquals(java.util.List.of("a", "b\r", "", "c"), TrainingData.lines("a\r\nb\r\r\n\nc"));
        assertEquals(java.util.List.of("a", ""), TrainingData.lines("a\n\n"));
        assertEquals(java.util.List.of(""), TrainingData.lines("\r\n"));
        assertEquals(java.util.List.of(), TrainingData.lines(""));
    }

    @Test
    void trimsAsciiWhiteSpaceAndNothingElse() throws IOException {
        assertEquals("1.5", TrainingData.trim(" \t\n\u000b\f\r1.5\r\f\u000b\n\t "));
        assertEquals("\u00a01.5\u2003", TrainingData.trim("\u00a01.5\u2003"));
        assertEquals("\u001f1\u0000", TrainingData.trim("\u001f1\u0000"));
        String m = refusal(write("nbsp.csv", "x,y\n\u00a01,2\n"));
        assertTrue(m.endsWith("nbsp.csv:2: column x is \"\u00a01\", expected a finite float32"), m);
        m = refusal(write("em.csv", "x,y\n1,2\u2003\n"));
        assertTrue(m.contains("em.csv:2: column y"), m);
        // A header with a no-break space is not the header.
        assertTrue(refusal(write("head.csv", "x,y\u00a0\n1,2\n")).contains("line 1 must be the header"));
        // A line of white space only is blank; one of U+00A0 is not.
        assertEquals(1, TrainingData.read(write("blank.csv", "x,y\n \t\r\n1,2\n").toString(), XY).rows());
        assertTrue(refusal(write("nb.csv", "x,y\n\u00a0\n")).contains("nb.csv:2: 1 fields"));
    }

    @Test
    void refusesWhatTheContractRefuses() throws IOException {
        assertTrue(refusal(temp.resolve("nothing-here"), Code.NOT_FOUND).contains("nothing-here: no such file or folder"));
        Files.createDirectories(temp.resolve("empty"));
        write("empty/notes.txt", "x,y\n1,2\n");
        write("empty/.csv", "x,y\n1,2\n");
        assertTrue(refusal(temp.resolve("empty")).contains("no .csv shard"));
        String m = refusal(write("header.csv", "y,x\n1,2\n"));
        assertTrue(m.startsWith("--data ") && m.contains("header.csv: line 1 must be the header \"x,y\""), m);
        assertTrue(refusal(write("emptyfile.csv", "")).contains("line 1 must be the header"));
        m = refusal(write("few.csv", "x,y\n1,2\n3\n"));
        assertTrue(m.contains("few.csv:3: 1 fields, expected 2 (x,y)"), m);
        assertTrue(refusal(write("many.csv", "x,y\n1,2,3\n")).contains("many.csv:2: 3 fields"));
        m = refusal(write("word.csv", "x,y\n1,2\n0.5,two\n"));
        assertTrue(m.contains("word.csv:3: column y is \"two\", expected a finite float32"), m);
        for (String bad : new String[] {"inf", "Infinity", "NaN", "1_0", "0x1p3", "1f", "1d", "1e", "1 0", "\u0661"}) {
            m = refusal(write("bad.csv", "x,y\n1," + bad + "\n"));
            assertTrue(m.contains("bad.csv:2: column y is \"" + bad + "\""), bad + ": " + m);
        }
        assertTrue(refusal(write("big.csv", "x,y\n1,1e39\n")).contains("big.csv:2: column y is \"1e39\""));
        assertTrue(refusal(write("blank.csv", "x,y\n1,\n")).contains("blank.csv:2: column y is \"\""));
        assertTrue(refusal(write("header-only.csv", "x,y\n")).contains("no data rows"));
        String longField = "9".repeat(300) + "x";
        m = refusal(write("long.csv", "x,y\n1," + longField + "\n"));
        assertTrue(m.contains("... (301 characters)") && m.length() < 500, m);
        byte[] latin1 = {'x', ',', 'y', '\n', (byte) 0xe9, ',', '1', '\n'};
        Path bad = Files.write(temp.resolve("latin1.csv"), latin1);
        assertTrue(refusal(bad).contains("cannot read it as UTF-8 text"));
    }

    @Test
    void filesAreNamedAsTheDataPathWasGiven() throws IOException {
        Files.createDirectories(temp.resolve("shards"));
        write("shards/a.csv", "x,y\n1,two\n");
        String given = temp + "/./shards//";
        String m = assertThrows(StatusException.class, () -> TrainingData.read(given, XY)).getMessage();
        assertEquals("--data " + given + "a.csv:2: column y is \"two\", expected a finite float32", m);
        String noSlash = temp + "/./shards";
        m = assertThrows(StatusException.class, () -> TrainingData.read(noSlash, XY)).getMessage();
        assertTrue(m.startsWith("--data " + noSlash + "/a.csv:2: "), m);
        String file = temp + "//shards/./a.csv";
        m = assertThrows(StatusException.class, () -> TrainingData.read(file, XY)).getMessage();
        assertTrue(m.startsWith("--data " + file + ":2: "), m);
        assertTrue(TrainingData.isCsvName("a.csv"));
        assertTrue(TrainingData.isCsvName("..csv"));
        assertFalse(TrainingData.isCsvName(".csv"));
        assertFalse(TrainingData.isCsvName("a.csv.bak"));
        assertFalse(TrainingData.isCsvName("a.CSV"));
    }

    @Test
    void batchesWalkTheRowsInOrderAndWrapAround() {
        assertArrayEquals(new int[] {0, 1, 2, 3}, TrainingData.batchIndices(0, 4, 10));
        assertArrayEquals(new int[] {8, 9, 0, 1}, TrainingData.batchIndices(2, 4, 10));
        assertArrayEquals(new int[] {2, 3, 4, 5}, TrainingData.batchIndices(3, 4, 10));
        // B > rows: the batch repeats rows.
        assertArrayEquals(new int[] {1, 2, 0, 1, 2}, TrainingData.batchIndices(2, 5, 3));
        // 8192 rows, batch 64: step 128 starts over at row 0, step 1000 at (64000 mod 8192).
        assertArrayEquals(TrainingData.batchIndices(0, 64, 8192), TrainingData.batchIndices(128, 64, 8192));
        assertEquals(64000 % 8192, TrainingData.batchIndices(1000, 64, 8192)[0]);
        // Large step counts do not overflow: (g * B) mod R computed exactly.
        long g = Long.MAX_VALUE / 3;
        int expected = java.math.BigInteger.valueOf(g).multiply(java.math.BigInteger.valueOf(1000))
                .mod(java.math.BigInteger.valueOf(997)).intValueExact();
        assertEquals(expected, TrainingData.batchIndices(g, 1000, 997)[0]);
        assertEquals(Math.floorMod(-1L * 4, 10), TrainingData.batchIndices(-1, 4, 10)[0]);
    }

    @Test
    void gathersABatchAsAFloatTensor() throws IOException {
        Path f = write("a.csv", "x,y\n1,10\n2,20\n3,30\n");
        TrainingData d = TrainingData.read(f.toString(), XY);
        HostTensor t = d.batch(1, TrainingData.batchIndices(1, 2, 3));
        assertEquals(DType.FLOAT, t.dtype());
        assertArrayEquals(new long[] {2}, t.shape());
        assertEquals(30f, t.data().getFloat(0));
        assertEquals(10f, t.data().getFloat(4));
    }
}
