package org.polyglot.tf.api;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.polyglot.tf.internal.SignatureSpec;

/**
 * One signature of an open {@link Model}: its key, its input and output specs, and a way to call
 * it. Obtained from {@link Model#signatures()} or {@link Model#function(String)}; valid while its
 * model is open.
 */
public final class Signature {

    private final Model model;
    private final SignatureSpec spec;
    private final Map<String, TensorSpec> inputs;
    private final Map<String, TensorSpec> outputs;

    Signature(Model model, SignatureSpec spec) {
        this.model = model;
        this.spec = spec;
        this.inputs = wrap(spec.inputs());
        this.outputs = wrap(spec.outputs());
    }

    private static Map<String, TensorSpec> wrap(Map<String, org.polyglot.tf.internal.TensorSpec> m) {
        Map<String, TensorSpec> out = new LinkedHashMap<>();
        m.forEach((k, v) -> out.put(k, new TensorSpec(v)));
        return Collections.unmodifiableMap(out);
    }

    SignatureSpec internal() {
        return spec;
    }

    Model model() {
        return model;
    }

    /**
     * Returns the signature key.
     *
     * @return e.g. {@code serving_default}
     */
    public String key() {
        return spec.key();
    }

    /**
     * Returns the SignatureDef's method name.
     *
     * @return e.g. {@code tensorflow/serving/predict}; {@code ""} when unset
     */
    public String methodName() {
        return spec.methodName();
    }

    /**
     * Returns the inputs.
     *
     * @return the specs by name, in code-point order of the names; unmodifiable
     */
    public Map<String, TensorSpec> inputs() {
        return inputs;
    }

    /**
     * Returns the outputs.
     *
     * @return the specs by name, in code-point order of the names; unmodifiable
     */
    public Map<String, TensorSpec> outputs() {
        return outputs;
    }

    /**
     * Runs the signature, as {@link Model#call(String, Map)} with this key does. Safe to call from
     * several threads at once.
     *
     * @param inputs one tensor per input name, each of the spec's dtype and a shape its declared
     *     shape accepts (a {@code -1} dim accepts any size)
     * @return one new tensor per output name, in code-point order of the names; the caller closes
     *     them
     * @throws ModelException {@link ModelException.Code#INVALID_ARGUMENT} for a missing, unknown,
     *     closed or mistyped input; {@link ModelException.Code#FAILED_PRECONDITION} when the model
     *     is closed; {@link ModelException.Code#INTERNAL} when TensorFlow fails
     */
    public Map<String, Tensor> call(Map<String, Tensor> inputs) {
        return model.call(this, inputs);
    }

    /**
     * Describes the signature.
     *
     * @return its key, inputs and outputs
     */
    @Override
    public String toString() {
        return key() + " " + inputs.values() + " -> " + outputs.values();
    }
}
