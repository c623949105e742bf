package org.polyglot.tf.api;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.polyglot.tf.internal.HostTensor;
import org.polyglot.tf.internal.PredictRequest;
import org.polyglot.tf.internal.ResponseEncoder;
import org.polyglot.tf.internal.StatusException;

/**
 * The TensorFlow Serving REST predict codec (tests/CONTRACT.md, "Requests" and "Responses"):
 * request bytes to tensors, tensors to response bytes, exactly as the command line's
 * {@code predict} reads and writes them (row format {@code instances}, columnar {@code inputs},
 * {@code {"b64": ...}} strings).
 */
public final class RestJson {

    private RestJson() {
    }

    /** A decoded predict request: the signature it names and its input tensors. */
    public static final class Request {
        private final Signature signature;
        private final PredictRequest.Inputs inputs;
        private final Map<String, Tensor> tensors;

        private Request(Signature signature, PredictRequest.Inputs inputs) {
            this.signature = signature;
            this.inputs = inputs;
            Map<String, Tensor> t = new LinkedHashMap<>();
            for (String name : signature.inputs().keySet()) {
                t.put(name, new Tensor(inputs.tensors().get(name)));
            }
            this.tensors = Collections.unmodifiableMap(t);
        }

        /**
         * Returns the signature the request is for.
         *
         * @return the request's {@code signature_name}, else the default key's signature
         */
        public Signature signature() {
            return signature;
        }

        /**
         * Returns the input tensors.
         *
         * @return one tensor per input name of the signature; unmodifiable
         */
        public Map<String, Tensor> inputs() {
            return tensors;
        }

        /**
         * Tells the request's format, which its response keeps.
         *
         * @return true for {@code instances} (row format), false for {@code inputs} (columnar)
         */
        public boolean rowFormat() {
            return inputs.rowFormat();
        }
    }

    /**
     * Decodes a predict request against a model's signature.
     *
     * @param model the open model
     * @param body the request body, UTF-8 JSON
     * @param defaultSignature the signature key used when the request's {@code signature_name} is
     *     absent or empty
     * @return the request
     * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} for a request that is not
     *     valid JSON or does not fit the signature; {@link ModelException.Code#NOT_FOUND} for an
     *     unknown signature
     */
    public static Request decode(Model model, byte[] body, String defaultSignature) {
        try {
            PredictRequest req = PredictRequest.parse(body);
            String key = req.signatureName() != null && !req.signatureName().isEmpty()
                    ? req.signatureName() : defaultSignature;
            Signature sig = model.function(key);
            return new Request(sig, req.decode(sig.internal()));
        } catch (StatusException e) {
            throw ModelException.of(e);
        }
    }

    /**
     * Encodes the outputs of a request's signature as its response.
     *
     * @param request the decoded request
     * @param outputs one tensor per output name of the request's signature
     * @return the response, one line of UTF-8 JSON without a newline: {@code predictions} for the
     *     row format, {@code outputs} for the columnar one
     * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} for a missing output;
     *     {@link ModelException.Code#INTERNAL} when outputs cannot be encoded in the row format
     */
    public static byte[] encode(Request request, Map<String, Tensor> outputs) {
        Map<String, HostTensor> byName = new HashMap<>();
        for (String name : request.signature.outputs().keySet()) {
            Tensor t = outputs.get(name);
            if (t == null) {
                throw new ModelException(ModelException.Code.INVALID_ARGUMENT, "missing output \"" + name + "\"");
            }
            byName.put(name, t.internal());
        }
        try {
            return ResponseEncoder.encode(request.inputs, request.signature.internal().outputs(), byName)
                    .getBytes(StandardCharsets.UTF_8);
        } catch (StatusException e) {
            throw ModelException.of(e);
        }
    }

    /**
     * Answers one predict request: {@link #decode}, the call, {@link #encode}.
     *
     * @param model the open model
     * @param body the request body
     * @param defaultSignature the key used when the request names none
     * @return the response bytes
     * @throws ModelException as {@link #decode}, {@link Signature#call(Map)} and {@link #encode}
     */
    public static byte[] predict(Model model, byte[] body, String defaultSignature) {
        Request r = decode(model, body, defaultSignature);
        List<String> names = new ArrayList<>();
        List<HostTensor> values = new ArrayList<>();
        for (TensorSpec spec : r.signature.inputs().values()) {
            names.add(spec.tensorName());
            values.add(r.inputs.tensors().get(spec.name()));
        }
        return encode(r, model.run(r.signature, names, values));
    }
}
