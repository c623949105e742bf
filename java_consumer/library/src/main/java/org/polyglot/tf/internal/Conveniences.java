package org.polyglot.tf.internal;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.SortedMap;

/**
 * The model-independent halves of {@code classify} and {@code generate}: the signature shape each
 * needs, the one columnar request each builds, and the summary each takes from the response.
 *
 * <p>Both run their request through {@link Model#predict(byte[], String)}, exactly as
 * {@code predict} does (same checks, same errors), and read the answer back from the response
 * JSON, so a number is printed exactly as the response encoder wrote it (shortest round-trip of
 * its dtype) and a string keeps its bytes. Nothing here depends on a particular model, only on
 * the signature's shape.
 */
public final class Conveniences {

    /** The default signature key of {@code generate}. */
    public static final String GENERATE_SIGNATURE = "generate";

    /** The default {@code --length} of {@code generate}. */
    public static final long DEFAULT_LENGTH = 100;

    /** The largest {@code --length} of {@code generate}. */
    public static final long MAX_LENGTH = 10_000;

    /** What {@code classify} needs, for messages. */
    static final String CLASSIFY_NEEDS = "classify needs a signature with exactly one input, of dtype DT_STRING and "
            + "rank 1 (encoded images), and the outputs 'class_id' (an integer dtype, rank 1) and 'probabilities' "
            + "(a floating dtype, rank 2)";

    /** What {@code generate} needs, for messages. */
    static final String GENERATE_NEEDS = "generate needs a signature with exactly the inputs 'prefix' (DT_STRING, "
            + "rank 1) and 'length' (DT_INT32, a scalar) and the output 'continuation' (DT_STRING, rank 1)";

    private Conveniences() {
    }

    // ----------------------------------------------------------------------------------------
    // classify

    /**
     * Checks that a signature has the shape {@code classify} needs.
     *
     * @param sig the signature (in the format that will be run)
     * @return the alias of its only input
     * @throws StatusException naming what was expected when it does not fit
     */
    public static String classifyInput(SignatureSpec sig) {
        SortedMap<String, TensorSpec> in = sig.inputs();
        if (in.size() != 1) {
            throw misfit(sig, CLASSIFY_NEEDS, "it has " + in.size() + " inputs");
        }
        TensorSpec image = in.get(in.firstKey());
        if (image.dtype() != DType.STRING || !hasRank(image, 1)) {
            throw misfit(sig, CLASSIFY_NEEDS, "its input is " + image.describe());
        }
        TensorSpec classId = sig.outputs().get("class_id");
        if (classId == null) {
            throw misfit(sig, CLASSIFY_NEEDS, "it has no output 'class_id'");
        }
        if (classId.dtype() == null || !classId.dtype().isInteger() || !hasRank(classId, 1)) {
            throw misfit(sig, CLASSIFY_NEEDS, "its output is " + classId.describe());
        }
        TensorSpec probs = sig.outputs().get("probabilities");
        if (probs == null) {
            throw misfit(sig, CLASSIFY_NEEDS, "it has no output 'probabilities'");
        }
        if (probs.dtype() == null || !probs.dtype().isFloating() || !hasRank(probs, 2)) {
            throw misfit(sig, CLASSIFY_NEEDS, "its output is " + probs.describe());
        }
        return image.alias();
    }

    /**
     * Builds {@code {"signature_name": key, "inputs": {alias: [{"b64": ...}, ...]}}}.
     *
     * @param key the signature key
     * @param alias the input alias
     * @param images the encoded images, in order
     * @return the request body
     */
    public static byte[] classifyRequest(String key, String alias, List<byte[]> images) {
        return request(key, g -> {
            g.writeFieldName(alias);
            g.writeStartArray();
            Base64.Encoder b64 = Base64.getEncoder();
            for (byte[] image : images) {
                g.writeStartObject();
                g.writeStringField("b64", b64.encodeToString(image));
                g.writeEndObject();
            }
            g.writeEndArray();
        });
    }

    /**
     * Reads the summary of a {@code classify} response: for each image
     * {@code class_id=<class_id[i]>\tprobability=<probabilities[i][class_id[i]]>}, the numbers
     * as the response wrote them.
     *
     * @param response the response of {@link #classifyRequest}
     * @param count the number of images
     * @return one summary per image, in order
     * @throws StatusException (INTERNAL) when the outputs do not have one row per image or a
     *     class id is not a column of its probabilities row
     */
    public static List<String> classifySummary(String response, int count) {
        Json.Value outputs = outputs(response);
        if (!(outputs instanceof Json.Obj o)) {
            throw badOutput("the response has no outputs by alias");
        }
        Json.Arr ids = rows(o.get("class_id"), "class_id", count);
        Json.Arr probs = rows(o.get("probabilities"), "probabilities", count);
        List<String> lines = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            if (!(ids.get(i) instanceof Json.Num id) || !id.integral()) {
                throw badOutput("class_id[" + i + "] is not an integer");
            }
            if (!(probs.get(i) instanceof Json.Arr row)) {
                throw badOutput("probabilities[" + i + "] is not a list");
            }
            BigInteger c = new BigInteger(id.text());
            if (c.signum() < 0 || c.compareTo(BigInteger.valueOf(row.size())) >= 0) {
                throw badOutput("class_id[" + i + "] = " + id.text() + " is not a column of probabilities[" + i
                        + "], which has " + row.size());
            }
            if (!(row.get(c.intValueExact()) instanceof Json.Num p)) {
                throw badOutput("probabilities[" + i + "][" + c + "] is not a number");
            }
            lines.add("class_id=" + id.text() + "\tprobability=" + p.text());
        }
        return lines;
    }

    // ----------------------------------------------------------------------------------------
    // generate

    /**
     * Checks a {@code --length}.
     *
     * @param length the value given
     * @throws StatusException when it is outside 0..{@value #MAX_LENGTH}
     */
    public static void checkLength(long length) {
        if (length < 0 || length > MAX_LENGTH) {
            throw StatusException.invalidArgument("--length must be in 0.." + MAX_LENGTH + ", not " + length);
        }
    }

    /**
     * Checks that a signature has the shape {@code generate} needs.
     *
     * @param sig the signature (in the format that will be run)
     * @throws StatusException naming what was expected when it does not fit
     */
    public static void checkGenerateSignature(SignatureSpec sig) {
        SortedMap<String, TensorSpec> in = sig.inputs();
        TensorSpec prefix = in.get("prefix");
        TensorSpec length = in.get("length");
        if (prefix == null) {
            throw misfit(sig, GENERATE_NEEDS, "it has no input 'prefix'");
        }
        if (length == null) {
            throw misfit(sig, GENERATE_NEEDS, "it has no input 'length'");
        }
        for (String alias : in.keySet()) {
            if (!alias.equals("prefix") && !alias.equals("length")) {
                throw misfit(sig, GENERATE_NEEDS, "it has the further input " + in.get(alias).describe());
            }
        }
        if (prefix.dtype() != DType.STRING || !hasRank(prefix, 1)) {
            throw misfit(sig, GENERATE_NEEDS, "its input is " + prefix.describe());
        }
        if (length.dtype() != DType.INT32 || !hasRank(length, 0)) {
            throw misfit(sig, GENERATE_NEEDS, "its input is " + length.describe());
        }
        TensorSpec cont = sig.outputs().get("continuation");
        if (cont == null) {
            throw misfit(sig, GENERATE_NEEDS, "it has no output 'continuation'");
        }
        if (cont.dtype() != DType.STRING || !hasRank(cont, 1)) {
            throw misfit(sig, GENERATE_NEEDS, "its output is " + cont.describe());
        }
    }

    /**
     * Builds {@code {"signature_name": key, "inputs": {"prefix": [text], "length": n}}}.
     *
     * @param key the signature key
     * @param prefix the prefix text (sent as UTF-8)
     * @param length the length
     * @return the request body
     */
    public static byte[] generateRequest(String key, String prefix, long length) {
        return request(key, g -> {
            g.writeFieldName("prefix");
            g.writeStartArray();
            g.writeString(prefix);
            g.writeEndArray();
            g.writeNumberField("length", length);
        });
    }

    /**
     * Reads {@code continuation[0]} from a {@code generate} response.
     *
     * @param response the response of {@link #generateRequest}
     * @param sig the signature it answered (one output or several decides the response's form)
     * @return the bytes of the first continuation
     * @throws StatusException (INTERNAL) when the output is empty
     */
    public static byte[] continuation(String response, SignatureSpec sig) {
        Json.Value outputs = outputs(response);
        Json.Value cont = outputs;
        if (sig.outputs().size() != 1) {
            cont = outputs instanceof Json.Obj o ? o.get("continuation") : null;
        }
        if (!(cont instanceof Json.Arr a) || a.size() == 0) {
            throw badOutput("output 'continuation' is empty, not one string per prefix");
        }
        Json.Value first = a.get(0);
        if (first instanceof Json.Str s) {
            return s.value().getBytes(StandardCharsets.UTF_8);
        }
        if (first instanceof Json.Obj o && o.isBase64() && o.get("b64") instanceof Json.Str b) {
            return Base64.getDecoder().decode(b.value());
        }
        throw badOutput("continuation[0] is a " + first.typeName() + ", not a string");
    }

    // ----------------------------------------------------------------------------------------
    // helpers

    private static boolean hasRank(TensorSpec spec, int rank) {
        return spec.rankKnown() && spec.shape().length == rank;
    }

    private static StatusException misfit(SignatureSpec sig, String needs, String why) {
        return StatusException.invalidArgument("signature " + Echo.quotedSingle(sig.key()) + " does not fit: " + needs + ", but " + why
                + " (signature inputs: " + TensorSpec.describeAll(sig.inputs().values()) + "; outputs: "
                + TensorSpec.describeAll(sig.outputs().values()) + ")");
    }

    private static StatusException badOutput(String what) {
        return StatusException.internal("unexpected model output: " + what);
    }

    /** Writes the inputs object's members. */
    private interface InputsWriter {
        void write(JsonGenerator g) throws IOException;
    }

    private static byte[] request(String key, InputsWriter inputs) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (JsonGenerator g = Json.generator(b)) {
            g.writeStartObject();
            g.writeStringField("signature_name", key);
            g.writeFieldName("inputs");
            g.writeStartObject();
            inputs.write(g);
            g.writeEndObject();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return b.toByteArray();
    }

    /** The value of a columnar response's {@code "outputs"}. */
    private static Json.Value outputs(String response) {
        Json.Value root = Json.parse(response.getBytes(StandardCharsets.UTF_8));
        Json.Value v = root instanceof Json.Obj o ? o.get("outputs") : null;
        if (v == null) {
            throw badOutput("the response has no \"outputs\"");
        }
        return v;
    }

    /** An output that must be a list of {@code count} rows. */
    private static Json.Arr rows(Json.Value v, String alias, int count) {
        if (!(v instanceof Json.Arr a)) {
            throw badOutput("output " + Echo.quotedSingle(alias) + " is not a list");
        }
        if (a.size() != count) {
            throw badOutput("output " + Echo.quotedSingle(alias) + " has " + a.size() + " rows for " + count + " images");
        }
        return a;
    }
}
