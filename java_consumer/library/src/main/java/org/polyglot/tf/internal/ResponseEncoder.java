package org.polyglot.tf.internal;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.SortedMap;

/**
 * Writes a predict response in TensorFlow Serving's REST form.
 *
 * <p>Row format: {@code {"predictions": [...]}}, element <i>i</i> being row <i>i</i> of the only
 * output, or {@code {"<alias>": row i, ...}} with several outputs (every output must then have the
 * same first dimension). Columnar format: {@code {"outputs": value}} with one output,
 * {@code {"outputs": {"<alias>": value, ...}}} with several. Aliases are written in the
 * signature's (sorted) order.
 *
 * <p>Floating numbers are written as tests/CONTRACT.md, "Numbers in text", says
 * ({@link Numbers#format(DType, java.nio.ByteBuffer, int)}: the shortest decimal that reads back
 * to the same value of the tensor's dtype, in ECMAScript's layout with {@code .0} after a whole
 * number; NaN and the infinities as the bare tokens {@code NaN}, {@code Infinity},
 * {@code -Infinity}; {@code -0.0} keeps its sign); integers in decimal, 64-bit ones exact. Strings are JSON strings when they are valid UTF-8 and the alias does
 * not end in {@code _bytes}, otherwise {@code {"b64": "..."}}.
 */
public final class ResponseEncoder {

    private ResponseEncoder() {
    }

    /**
     * Encodes a response.
     *
     * @param inputs the decoded request (its format and batch size)
     * @param outputs the signature's outputs, sorted by alias
     * @param values the output tensors by alias
     * @return the response JSON, one line, without a trailing newline
     * @throws StatusException when, in the row format, an output is a scalar or the
     *     outputs do not share their first dimension
     */
    public static String encode(PredictRequest.Inputs inputs, SortedMap<String, TensorSpec> outputs,
            Map<String, HostTensor> values) {
        StringWriter w = new StringWriter();
        try (JsonGenerator g = Json.generator(w)) {
            g.writeStartObject();
            if (inputs.rowFormat()) {
                long batch = checkBatch(outputs, values);
                g.writeFieldName("predictions");
                if (outputs.size() == 1) {
                    String alias = outputs.firstKey();
                    writeTensor(g, values.get(alias), alias);
                } else {
                    g.writeStartArray();
                    for (long i = 0; i < batch; i++) {
                        g.writeStartObject();
                        for (String alias : outputs.keySet()) {
                            HostTensor t = values.get(alias);
                            g.writeFieldName(alias);
                            long rowSize = t.size() / batch;
                            new Writer(g, t, alias).write(1, i * rowSize);
                        }
                        g.writeEndObject();
                    }
                    g.writeEndArray();
                }
            } else {
                g.writeFieldName("outputs");
                if (outputs.size() == 1) {
                    String alias = outputs.firstKey();
                    writeTensor(g, values.get(alias), alias);
                } else {
                    g.writeStartObject();
                    for (String alias : outputs.keySet()) {
                        g.writeFieldName(alias);
                        writeTensor(g, values.get(alias), alias);
                    }
                    g.writeEndObject();
                }
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.toString();
    }

    /**
     * Checks that the outputs can be written as rows: the only output has rank &gt;= 1, or all
     * outputs share their first dimension.
     *
     * @return the number of rows
     */
    private static long checkBatch(SortedMap<String, TensorSpec> outputs, Map<String, HostTensor> values) {
        long batch = -1;
        for (String alias : outputs.keySet()) {
            HostTensor t = values.get(alias);
            if (t.rank() == 0) {
                throw StatusException.invalidArgument("output " + Echo.quotedSingle(alias) + " is a scalar; the row format (\"instances\") "
                        + "needs a batch dimension, use the columnar \"inputs\" format");
            }
            if (batch >= 0 && t.dim(0) != batch) {
                throw StatusException.invalidArgument("outputs do not share a batch dimension (output " + Echo.quotedSingle(alias) + " has shape "
                        + TensorSpec.formatShape(t.shape()) + "); use the columnar \"inputs\" format");
            }
            batch = t.dim(0);
        }
        return Math.max(batch, 0);
    }

    /**
     * Writes a whole tensor as nested lists (a bare value for a scalar).
     *
     * @param g the generator
     * @param t the tensor
     * @param alias the output alias (decides the string form)
     * @throws IOException from the generator
     */
    public static void writeTensor(JsonGenerator g, HostTensor t, String alias) throws IOException {
        new Writer(g, t, alias).write(0, 0);
    }

    /** Writes the sub-tensor starting at a dim and a flat element offset. */
    private static final class Writer {
        private final JsonGenerator g;
        private final HostTensor t;
        private final long[] shape;
        private final long[] strides;
        private final boolean forceBase64;
        private final ByteBuffer data;

        Writer(JsonGenerator g, HostTensor t, String alias) {
            this.g = g;
            this.t = t;
            this.shape = t.shape();
            this.strides = new long[shape.length];
            long s = 1;
            for (int i = shape.length - 1; i >= 0; i--) {
                strides[i] = s;
                s *= shape[i];
            }
            this.forceBase64 = alias.endsWith("_bytes");
            this.data = t.data();
        }

        void write(int dim, long offset) throws IOException {
            if (dim == shape.length) {
                element((int) offset);
                return;
            }
            g.writeStartArray();
            for (long i = 0; i < shape[dim]; i++) {
                write(dim + 1, offset + i * strides[dim]);
            }
            g.writeEndArray();
        }

        private void element(int i) throws IOException {
            switch (t.dtype()) {
                case FLOAT, DOUBLE, HALF -> g.writeNumber(Numbers.format(t.dtype(), data, i));
                case INT8 -> g.writeNumber(data.get(i));
                case INT16 -> g.writeNumber(data.getShort(i * 2));
                case INT32 -> g.writeNumber(data.getInt(i * 4));
                case INT64 -> g.writeNumber(data.getLong(i * 8));
                case UINT8 -> g.writeNumber(data.get(i) & 0xff);
                case UINT16 -> g.writeNumber(data.getShort(i * 2) & 0xffff);
                case UINT32 -> g.writeNumber(data.getInt(i * 4) & 0xffff_ffffL);
                case UINT64 -> g.writeNumber(Long.toUnsignedString(data.getLong(i * 8)));
                case BOOL -> g.writeBoolean(data.get(i) != 0);
                case STRING -> string(t.strings()[i]);
                default -> throw new IllegalStateException(t.dtype().toString());
            }
        }

        private void string(byte[] b) throws IOException {
            String s = forceBase64 ? null : utf8(b);
            if (s != null) {
                g.writeString(s);
            } else {
                g.writeStartObject();
                g.writeStringField("b64", Base64.getEncoder().encodeToString(b));
                g.writeEndObject();
            }
        }
    }

    /**
     * Decodes strict UTF-8 (no overlong forms, no encoded surrogates).
     *
     * @param b the bytes
     * @return the string, or {@code null} when the bytes are not valid UTF-8
     */
    static String utf8(byte[] b) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
