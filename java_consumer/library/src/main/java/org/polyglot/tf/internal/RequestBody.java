package org.polyglot.tf.internal;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Map;

/**
 * Reading request bodies within {@code --max-request-bytes} (tests/CONTRACT.md, "Request and
 * response bodies", "Limits"): a body larger than the limit is refused without reading more than
 * one byte past it; in {@code serve-stdio} each line (without its {@code \n}) is one body, and an
 * over-long line is skipped without being kept in memory.
 */
public final class RequestBody {

    /** The command-line flag. */
    public static final String FLAG = "--max-request-bytes";

    /** The default limit: 64 MiB (TF Serving's REST default body limit). */
    public static final long DEFAULT_MAX_BYTES = 64L * 1024 * 1024;

    /** {@link #DEFAULT_MAX_BYTES} as the flag's default value text. */
    public static final String DEFAULT_MAX_BYTES_TEXT = "67108864";

    /** The largest body a Java byte array can hold (the JDK's soft array size limit). */
    static final int MAX_ARRAY = Integer.MAX_VALUE - 8;

    private static final int CHUNK = 1 << 16;

    private RequestBody() {
    }

    /**
     * Returns the message for a body over the limit (the catalog's {@code request_too_large}).
     *
     * @param max the limit in bytes
     * @return {@code request is larger than the limit of N bytes (--max-request-bytes)}
     */
    public static String tooLargeMessage(long max) {
        return tooLarge(max).getMessage();
    }

    /**
     * Returns the refusal for a body over the limit: the catalog's {@code request_too_large}
     * ({@link Code#RESOURCE_EXHAUSTED}).
     *
     * @param max the limit in bytes
     * @return the error
     */
    public static StatusException tooLarge(long max) {
        return Messages.error("request_too_large", Map.of("limit", Long.toString(max)));
    }

    /** The refusal for a body within the limit that no Java array can hold. */
    private static StatusException tooLargeForJava() {
        return StatusException.resourceExhausted("request is larger than the " + MAX_ARRAY
                + " bytes java_consumer can hold in one body (" + FLAG + " allows more)");
    }

    /**
     * Reads a whole body, at most {@code max + 1} bytes of the stream.
     *
     * @param in the stream (not closed)
     * @param max the limit in bytes, positive
     * @return the body, at most {@code max} bytes
     * @throws StatusException ({@link Code#RESOURCE_EXHAUSTED}) when the stream holds more than {@code max} bytes
     * @throws IOException when reading fails
     */
    public static byte[] read(InputStream in, long max) throws IOException {
        byte[] buf = new byte[(int) Math.min(CHUNK, Math.min(max + 1, MAX_ARRAY))];
        int len = 0;
        while (true) {
            if (len == buf.length) {
                if (len > max) {
                    throw tooLarge(max);
                }
                if (len >= MAX_ARRAY) {
                    throw tooLargeForJava();
                }
                long grown = Math.min(Math.min((long) len * 2, max + 1), MAX_ARRAY);
                buf = Arrays.copyOf(buf, (int) grown);
            }
            int n = in.read(buf, len, buf.length - len);
            if (n < 0) {
                break;
            }
            len += n;
        }
        if (len > max) {
            throw tooLarge(max);
        }
        return len == buf.length ? buf : Arrays.copyOf(buf, len);
    }

    /**
     * One line of {@code serve-stdio} input.
     *
     * @param body the line without its {@code \n} (and without a {@code \r} before it), or
     *     {@code null} when the line was over the limit (its bytes were skipped, not kept)
     */
    public record Line(byte[] body) {
        /**
         * Tells whether the line was longer than the limit.
         *
         * @return true when {@link #body()} is {@code null}
         */
        public boolean tooLong() {
            return body == null;
        }
    }

    /**
     * Splits a stream into lines of at most {@code max} bytes each (not counting the {@code \n});
     * longer lines are reported as {@link Line#tooLong()} and skipped up to their {@code \n}
     * without being buffered. Not thread-safe.
     */
    public static final class LineReader {
        private final InputStream in;
        private final long max;
        private final byte[] buf = new byte[CHUNK];
        private int pos;
        private int lim;
        private byte[] acc = new byte[256];

        /**
         * Reads lines from a stream.
         *
         * @param in the stream (not closed)
         * @param max the limit of one line in bytes, positive
         */
        public LineReader(InputStream in, long max) {
            this.in = in;
            this.max = max;
        }

        /**
         * Reads the next line.
         *
         * @return the line, or {@code null} at the end of input
         * @throws IOException when reading fails
         */
        public Line next() throws IOException {
            int len = 0;
            long count = 0;
            boolean any = false;
            boolean over = false;
            while (true) {
                if (pos == lim) {
                    int n = in.read(buf, 0, buf.length);
                    if (n < 0) {
                        if (!any) {
                            return null;
                        }
                        break;
                    }
                    pos = 0;
                    lim = n;
                    if (n == 0) {
                        continue;
                    }
                }
                any = true;
                int nl = -1;
                for (int i = pos; i < lim; i++) {
                    if (buf[i] == '\n') {
                        nl = i;
                        break;
                    }
                }
                int end = nl >= 0 ? nl : lim;
                int n = end - pos;
                count += n;
                if (!over && (count > max || count > MAX_ARRAY)) {
                    over = true;
                }
                if (!over) {
                    if (len + n > acc.length) {
                        acc = Arrays.copyOf(acc, (int) Math.min(Math.max((long) acc.length * 2, len + n), MAX_ARRAY));
                    }
                    System.arraycopy(buf, pos, acc, len, n);
                    len += n;
                }
                pos = nl >= 0 ? nl + 1 : lim;
                if (nl >= 0) {
                    break;
                }
            }
            if (over) {
                shrink();
                return new Line(null);
            }
            if (len > 0 && acc[len - 1] == '\r') {
                len--;
            }
            byte[] line = Arrays.copyOf(acc, len);
            shrink();
            return new Line(line);
        }

        /** Drops a large line buffer so that one big request does not pin its size for good. */
        private void shrink() {
            if (acc.length > CHUNK) {
                acc = new byte[256];
            }
        }
    }
}
