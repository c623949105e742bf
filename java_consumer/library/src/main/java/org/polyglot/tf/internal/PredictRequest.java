package org.polyglot.tf.internal;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;

/**
 * A TensorFlow Serving REST predict request: an object with an optional {@code signature_name}
 * and exactly one of {@code instances} (row format) or {@code inputs} (columnar format).
 *
 * @param signatureName the request's {@code signature_name}, or {@code null} when absent or
 *     {@code null}
 * @param rowFormat true for {@code instances}, false for {@code inputs}
 * @param payload the value of {@code instances} or {@code inputs}
 */
public record PredictRequest(String signatureName, boolean rowFormat, Json.Value payload) {

    private static final Set<String> KEYS = Set.of("signature_name", "instances", "inputs");

    /**
     * The decoded inputs of a request.
     *
     * @param rowFormat true for {@code instances}
     * @param batchSize the number of instances (row format); -1 for the columnar format
     * @param tensors the input tensors by alias, in the signature's alias order
     */
    public record Inputs(boolean rowFormat, int batchSize, Map<String, HostTensor> tensors) {
    }

    /**
     * Parses and checks the request envelope.
     *
     * @param body the request body
     * @return the request
     * @throws StatusException for invalid JSON, a body that is not an object, an
     *     unknown top-level key, both or neither of {@code instances}/{@code inputs}, or a
     *     {@code signature_name} that is not a string
     */
    public static PredictRequest parse(byte[] body) {
        Json.Value root = Json.parse(body);
        if (!(root instanceof Json.Obj o)) {
            throw StatusException.invalidArgument("the request must be a JSON object with \"instances\" or \"inputs\", not a "
                    + root.typeName());
        }
        for (String k : o.members().keySet()) {
            if (!KEYS.contains(k)) {
                throw StatusException.invalidArgument("unknown top-level key " + Echo.quotedSingle(k)
                        + " in the request (allowed: signature_name, instances, inputs)");
            }
        }
        Json.Value instances = o.get("instances");
        Json.Value inputs = o.get("inputs");
        if (instances != null && inputs != null) {
            throw StatusException.invalidArgument("the request has both \"instances\" and \"inputs\"; give exactly one");
        }
        if (instances == null && inputs == null) {
            throw StatusException.invalidArgument("the request needs \"instances\" (row format) or \"inputs\" (columnar format)");
        }
        String sig = null;
        Json.Value s = o.get("signature_name");
        if (s != null && !(s instanceof Json.Null)) {
            if (!(s instanceof Json.Str str)) {
                throw StatusException.invalidArgument("\"signature_name\" must be a string, not a " + s.typeName());
            }
            sig = str.value();
        }
        return new PredictRequest(sig, instances != null, instances != null ? instances : inputs);
    }

    /**
     * Decodes the payload against a signature (TF Serving's rules for one or several inputs).
     *
     * @param sig the signature
     * @return the input tensors
     * @throws StatusException when the payload does not fit the signature
     */
    public Inputs decode(SignatureSpec sig) {
        return rowFormat ? decodeRows(sig) : decodeColumns(sig);
    }

    private Inputs decodeRows(SignatureSpec sig) {
        SortedMap<String, TensorSpec> specs = sig.inputs();
        if (!(payload instanceof Json.Arr rows)) {
            throw StatusException.invalidArgument("\"instances\" must be a list (one element per instance), not a "
                    + payload.typeName() + "; signature inputs: " + TensorSpec.describeAll(specs.values()));
        }
        if (rows.size() == 0) {
            throw StatusException.invalidArgument("\"instances\" is empty: the row format needs at least one instance; "
                    + "signature inputs: " + TensorSpec.describeAll(specs.values()));
        }
        Map<String, List<Json.Value>> columns = new LinkedHashMap<>();
        specs.keySet().forEach(a -> columns.put(a, new java.util.ArrayList<>(rows.size())));
        if (specs.size() == 1) {
            String alias = specs.firstKey();
            boolean named = isKeyed(rows.get(0));
            for (int i = 0; i < rows.size(); i++) {
                Json.Value inst = rows.get(i);
                if (isKeyed(inst) != named) {
                    throw StatusException.invalidArgument("instance " + i + " is " + (named ? "not " : "")
                            + "an object keyed by input alias but instance 0 is" + (named ? "" : " not")
                            + "; signature inputs: " + TensorSpec.describeAll(specs.values()));
                }
                columns.get(alias).add(named ? member((Json.Obj) inst, specs, "instance " + i).get(alias) : inst);
            }
        } else {
            for (int i = 0; i < rows.size(); i++) {
                Json.Value inst = rows.get(i);
                if (!isKeyed(inst)) {
                    throw StatusException.invalidArgument("instance " + i + " is a " + inst.typeName()
                            + ", but with several inputs each instance must be an object keyed by input alias; "
                            + "signature inputs: " + TensorSpec.describeAll(specs.values()));
                }
                Map<String, Json.Value> m = member((Json.Obj) inst, specs, "instance " + i);
                specs.keySet().forEach(a -> columns.get(a).add(m.get(a)));
            }
        }
        Map<String, HostTensor> tensors = new LinkedHashMap<>();
        for (TensorSpec spec : specs.values()) {
            tensors.put(spec.alias(), TensorDecoder.decode(new Json.Arr(columns.get(spec.alias())), spec, true));
        }
        return new Inputs(true, rows.size(), tensors);
    }

    private Inputs decodeColumns(SignatureSpec sig) {
        SortedMap<String, TensorSpec> specs = sig.inputs();
        Map<String, Json.Value> values;
        if (specs.size() == 1 && !isKeyed(payload)) {
            values = Map.of(specs.firstKey(), payload);
        } else {
            if (!isKeyed(payload)) {
                throw StatusException.invalidArgument("with several inputs \"inputs\" must be an object keyed by input alias, "
                        + "not a " + payload.typeName() + "; signature inputs: "
                        + TensorSpec.describeAll(specs.values()));
            }
            values = member((Json.Obj) payload, specs, "\"inputs\"");
        }
        Map<String, HostTensor> tensors = new LinkedHashMap<>();
        for (TensorSpec spec : specs.values()) {
            tensors.put(spec.alias(), TensorDecoder.decode(values.get(spec.alias()), spec, false));
        }
        checkBatchSizes(specs, tensors);
        return new Inputs(false, -1, tensors);
    }

    /**
     * The columnar batch rule (tests/CONTRACT.md, "Batch size"): every input whose signature shape
     * starts with {@code -1} is batched along dimension 0, and those given with rank &ge; 1 must
     * agree on it. In sorted alias order, the first such input is the reference and the first one
     * that disagrees with it is named second.
     */
    private static void checkBatchSizes(SortedMap<String, TensorSpec> specs, Map<String, HostTensor> tensors) {
        String first = null;
        long rows = 0;
        for (TensorSpec spec : specs.values()) {
            HostTensor t = tensors.get(spec.alias());
            if (!spec.rankKnown() || spec.shape().length == 0 || spec.shape()[0] != -1 || t.shape().length == 0) {
                continue;
            }
            long n = t.shape()[0];
            if (first == null) {
                first = spec.alias();
                rows = n;
            } else if (n != rows) {
                throw StatusException.invalidArgument("batch size mismatch: input " + Echo.quoted(first) + " has " + rows
                        + " rows but input " + Echo.quoted(spec.alias()) + " has " + n
                        + "; inputs whose shape starts with -1 must have the same batch size");
            }
        }
    }

    /** An object that maps input aliases to values (not the {"b64": ...} string form). */
    private static boolean isKeyed(Json.Value v) {
        return v instanceof Json.Obj o && !o.isBase64();
    }

    /** Checks that an object's keys are exactly the signature's input aliases. */
    private static Map<String, Json.Value> member(Json.Obj o, SortedMap<String, TensorSpec> specs, String where) {
        checkAliases(o.members().keySet(), specs, where);
        return o.members();
    }

    /**
     * Refuses inputs that are not exactly a signature's: the first given alias (in the order
     * given) that is not one of its inputs, then the first of its inputs (in alias order) not
     * given, each naming every input the signature expects. The one check of the JSON request
     * body and of the library's {@code Signature.call}.
     *
     * @param given the aliases given
     * @param specs the signature's inputs by alias
     * @param where what gave them, for the message (e.g. {@code "inputs"}, {@code instance 0})
     * @throws StatusException {@link Code#INVALID_ARGUMENT} for an unknown or missing alias
     */
    public static void checkAliases(Collection<String> given, SortedMap<String, TensorSpec> specs, String where) {
        Collection<TensorSpec> all = specs.values();
        for (String k : given) {
            if (!specs.containsKey(k)) {
                throw StatusException.invalidArgument(where + " has unknown input alias " + Echo.quotedSingle(k) + "; signature inputs: "
                        + TensorSpec.describeAll(all));
            }
        }
        for (TensorSpec s : all) {
            if (!given.contains(s.alias())) {
                throw StatusException.invalidArgument(where + " is missing input " + s.describe()
                        + "; signature inputs: " + TensorSpec.describeAll(all));
            }
        }
    }
}
