package org.polyglot.tf.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

/**
 * The manifest's {@code training} section (tests/CONTRACT.md, "What the model provides"),
 * checked against the SavedModel's signatures.
 *
 * @param trainSignature the train signature: inputs each of {@code columns} ({@code DT_FLOAT},
 *     rank 1) plus {@code learningRateInput} ({@code DT_FLOAT} scalar); outputs
 *     {@code lossOutput} ({@code DT_FLOAT} scalar) and {@code stepOutput} ({@code DT_INT64} scalar)
 * @param variablesSignature the variables signature: no inputs, one output per variable
 *     (numeric or boolean dtypes), including {@code stepOutput} ({@code DT_INT64} scalar)
 * @param learningRateInput the alias of the learning-rate input
 * @param lossOutput the alias of the loss output
 * @param stepOutput the alias of the step output (in both signatures)
 * @param columns the CSV columns, each an input alias of the train signature
 * @param frozenConstants signature key -&gt; (variable name -&gt; {@code Const} node name in that
 *     signature's frozen graph)
 */
public record TrainingSection(SignatureSpec trainSignature, SignatureSpec variablesSignature,
        String learningRateInput, String lossOutput, String stepOutput, List<String> columns,
        Map<String, Map<String, String>> frozenConstants) {

    /**
     * Reads and checks the section.
     *
     * @param section the manifest's {@code training} value
     * @param signatures the SavedModel's signatures (MetaGraphDef {@code serve}) by key
     * @param manifestFile the manifest file as messages name it (the version folder as given,
     *     {@code /manifest.json})
     * @return the checked section
     * @throws StatusException when an entry is missing or malformed, or names a
     *     signature, input or output that the SavedModel does not have (with the dtype and shape
     *     the contract needs)
     */
    public static TrainingSection parse(Json.Obj section, Map<String, SignatureSpec> signatures, String manifestFile) {
        String where = manifestFile + ": training";
        String train = string(section, "train_signature", where);
        String vars = string(section, "variables_signature", where);
        String rate = string(section, "learning_rate_input", where);
        String loss = string(section, "loss_output", where);
        String step = string(section, "step_output", where);
        if (!(section.get("columns") instanceof Json.Arr cols) || cols.size() == 0) {
            throw StatusException.failedPrecondition(where + ".columns must be a non-empty list of strings");
        }
        List<String> columns = new ArrayList<>();
        for (Json.Value c : cols.items()) {
            if (!(c instanceof Json.Str s)) {
                throw StatusException.failedPrecondition(where + ".columns must be a non-empty list of strings");
            }
            columns.add(s.value());
        }
        SignatureSpec trainSig = signature(signatures, train, where + ".train_signature");
        SignatureSpec varsSig = signature(signatures, vars, where + ".variables_signature");
        for (String c : columns) {
            require(trainSig.inputs(), c, DType.FLOAT, 1, "input", train, where + ".columns");
        }
        require(trainSig.inputs(), rate, DType.FLOAT, 0, "input", train, where + ".learning_rate_input");
        if (trainSig.inputs().size() != columns.size() + 1 || columns.contains(rate)) {
            throw StatusException.failedPrecondition(where + ": signature " + Echo.quotedSingle(train) + " must have exactly the inputs "
                    + String.join(", ", columns) + " and " + rate + "; it has "
                    + TensorSpec.describeAll(trainSig.inputs().values()));
        }
        require(trainSig.outputs(), loss, DType.FLOAT, 0, "output", train, where + ".loss_output");
        require(trainSig.outputs(), step, DType.INT64, 0, "output", train, where + ".step_output");
        if (!varsSig.inputs().isEmpty()) {
            throw StatusException.failedPrecondition(where + ": signature " + Echo.quotedSingle(vars) + " must have no inputs; it has "
                    + TensorSpec.describeAll(varsSig.inputs().values()));
        }
        require(varsSig.outputs(), step, DType.INT64, 0, "output", vars, where + ".step_output");
        for (TensorSpec out : varsSig.outputs().values()) {
            if (out.dtype() == null || out.dtype() == DType.STRING || !out.rankKnown()) {
                throw StatusException.failedPrecondition(where + ": variable " + out.describe() + " of signature " + Echo.quotedSingle(vars)
                        + " must have a numeric or boolean dtype and a known rank");
            }
        }
        Map<String, Map<String, String>> frozen = new LinkedHashMap<>();
        Json.Value fc = section.get("frozen_constants");
        if (fc != null && !(fc instanceof Json.Null)) {
            if (!(fc instanceof Json.Obj fo)) {
                throw StatusException.failedPrecondition(where + ".frozen_constants must be an object");
            }
            for (Map.Entry<String, Json.Value> e : fo.members().entrySet()) {
                if (!(e.getValue() instanceof Json.Obj m)) {
                    throw StatusException.failedPrecondition(where + ".frozen_constants[" + Echo.quotedSingle(e.getKey()) + "] must be an object");
                }
                Map<String, String> byVariable = new LinkedHashMap<>();
                for (Map.Entry<String, Json.Value> v : m.members().entrySet()) {
                    if (!(v.getValue() instanceof Json.Str node)) {
                        throw StatusException.failedPrecondition(where + ".frozen_constants[" + Echo.quotedSingle(e.getKey()) + "]['"
                                + v.getKey() + "'] must be a node name (string)");
                    }
                    if (!varsSig.outputs().containsKey(v.getKey())) {
                        throw StatusException.failedPrecondition(where + ".frozen_constants[" + Echo.quotedSingle(e.getKey()) + "] names '"
                                + v.getKey() + "', which is no output of signature " + Echo.quotedSingle(vars) + " (outputs: "
                                + String.join(", ", varsSig.outputs().keySet()) + ")");
                    }
                    byVariable.put(v.getKey(), node.value());
                }
                frozen.put(e.getKey(), Collections.unmodifiableMap(byVariable));
            }
        }
        return new TrainingSection(trainSig, varsSig, rate, loss, step, List.copyOf(columns),
                Collections.unmodifiableMap(frozen));
    }

    /**
     * Returns the variables signature's output dtypes.
     *
     * @return variable name -&gt; dtype
     */
    public Map<String, DType> variableDtypes() {
        Map<String, DType> m = new LinkedHashMap<>();
        variablesSignature.outputs().forEach((k, v) -> m.put(k, v.dtype()));
        return m;
    }

    private static String string(Json.Obj o, String key, String where) {
        if (!(o.get(key) instanceof Json.Str s) || s.value().isEmpty()) {
            throw StatusException.failedPrecondition(where + "." + key + " must be a non-empty string");
        }
        return s.value();
    }

    private static SignatureSpec signature(Map<String, SignatureSpec> signatures, String key, String where) {
        SignatureSpec s = signatures.get(key);
        if (s == null || key.equals(Model.INIT_OP_SIGNATURE)) {
            List<String> have = new ArrayList<>(signatures.keySet());
            have.remove(Model.INIT_OP_SIGNATURE);
            throw StatusException.failedPrecondition(where + " names the signature " + Echo.quotedSingle(key)
                    + ", which the SavedModel does not have (it has: " + Echo.list(have) + ")");
        }
        return s;
    }

    private static void require(SortedMap<String, TensorSpec> specs, String alias, DType dtype, int rank,
            String kind, String signature, String where) {
        TensorSpec t = specs.get(alias);
        String wanted = Echo.quotedSingle(alias) + " (" + dtype.tfName() + ", " + (rank == 0 ? "a scalar" : "rank " + rank) + ")";
        if (t == null) {
            throw StatusException.failedPrecondition(where + ": signature " + Echo.quotedSingle(signature) + " has no " + kind + " " + wanted
                    + "; its " + kind + "s are " + TensorSpec.describeAll(specs.values()));
        }
        if (t.dtype() != dtype || !t.rankKnown() || t.shape().length != rank) {
            throw StatusException.failedPrecondition(where + ": " + kind + " " + t.describe() + " of signature " + Echo.quotedSingle(signature)
                    + " must be " + wanted);
        }
    }
}
