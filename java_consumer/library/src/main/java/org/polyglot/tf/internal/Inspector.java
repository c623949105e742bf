package org.polyglot.tf.internal;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * The {@code inspect} report (tests/CONTRACT.md, "inspect"): the text form (the same bytes from
 * every consumer, modelled on {@code saved_model_cli show --all}) and the {@code --json} form,
 * written by Jackson's generator (compared as parsed JSON, so its member order and white space
 * carry no meaning). The model path is the version folder as given ({@link ModelLocation#shown()}).
 */
public final class Inspector {

    private final ModelLocation location;
    private final SavedModelInfo model;
    private final Manifest manifest;
    private final String runtime;

    /**
     * Creates a report.
     *
     * @param location the version folder
     * @param model its parsed {@code saved_model.pb}
     * @param manifest its manifest, or {@code null}
     * @param runtime the TensorFlow runtime version ({@code TF_Version()})
     */
    public Inspector(ModelLocation location, SavedModelInfo model, Manifest manifest, String runtime) {
        this.location = location;
        this.model = model;
        this.manifest = manifest;
        this.runtime = runtime;
    }

    /** The first non-empty {@code meta_info_def.tensorflow_version}, in file order. */
    private String producerVersion() {
        for (SavedModelInfo.MetaGraph g : model.metaGraphs()) {
            if (!g.producerVersion().isEmpty()) {
                return g.producerVersion();
            }
        }
        return "";
    }

    /** A MetaGraphDef's tags, sorted (as the Python reference lists them). */
    private static java.util.List<String> sortedTags(SavedModelInfo.MetaGraph g) {
        var tags = new java.util.ArrayList<>(g.tags());
        tags.sort(SignatureSpec.CODE_POINT_ORDER);
        return tags;
    }

    private String frozenGraph(String key) {
        return manifest == null ? null : manifest.frozenGraph(key);
    }

    /**
     * Renders the text form; every line ends with {@code \n}.
     *
     * @return the report
     */
    public String text() {
        StringBuilder b = new StringBuilder();
        b.append("Model: ").append(location.shown()).append('\n');
        b.append("Version: ").append(location.version() == null ? "none" : location.version()).append('\n');
        b.append("TensorFlow runtime: ").append(runtime).append('\n');
        b.append("Producer TensorFlow version: ").append(producerVersion()).append('\n');
        for (SavedModelInfo.MetaGraph g : model.metaGraphs()) {
            b.append('\n');
            b.append("MetaGraphDef with tag-set: '").append(String.join(", ", sortedTags(g)))
                    .append("' contains the following SignatureDefs:\n");
            for (SignatureSpec s : g.signatures().values()) {
                b.append('\n');
                b.append("signature_def['").append(s.key()).append("']:\n");
                b.append("  The given SavedModel SignatureDef contains the following input(s):\n");
                tensors(b, "inputs", s.inputs());
                b.append("  The given SavedModel SignatureDef contains the following output(s):\n");
                tensors(b, "outputs", s.outputs());
                b.append("  Method name is: ").append(s.methodName()).append('\n');
                String frozen = frozenGraph(s.key());
                b.append("  Frozen graph: ").append(frozen == null ? "none" : frozen).append('\n');
            }
        }
        return b.toString();
    }

    private static void tensors(StringBuilder b, String kind, Map<String, TensorSpec> specs) {
        for (TensorSpec t : specs.values()) {
            b.append("    ").append(kind).append("['").append(t.alias()).append("'] tensor_info:\n");
            b.append("        dtype: ").append(t.dtypeName()).append('\n');
            b.append("        shape: ").append(TensorSpec.formatShape(t.shape())).append('\n');
            b.append("        name: ").append(t.tensorName()).append('\n');
        }
    }

    /**
     * Renders the {@code --json} form, one line without a trailing newline.
     *
     * @return the JSON text
     */
    public String json() {
        StringWriter w = new StringWriter();
        try (JsonGenerator g = Json.generator(w)) {
            g.writeStartObject();
            g.writeStringField("model", location.shown());
            g.writeFieldName("version");
            if (location.version() == null) {
                g.writeNull();
            } else {
                g.writeNumber(location.version());
            }
            g.writeStringField("tensorflow_runtime", runtime);
            g.writeStringField("producer_tensorflow_version", producerVersion());
            g.writeArrayFieldStart("meta_graphs");
            for (SavedModelInfo.MetaGraph mg : model.metaGraphs()) {
                g.writeStartObject();
                g.writeArrayFieldStart("tags");
                for (String t : sortedTags(mg)) {
                    g.writeString(t);
                }
                g.writeEndArray();
                g.writeObjectFieldStart("signatures");
                for (SignatureSpec s : mg.signatures().values()) {
                    g.writeObjectFieldStart(s.key());
                    g.writeStringField("method_name", s.methodName());
                    jsonTensors(g, "inputs", s.inputs());
                    jsonTensors(g, "outputs", s.outputs());
                    String frozen = frozenGraph(s.key());
                    if (frozen == null) {
                        g.writeNullField("frozen_graph");
                    } else {
                        g.writeStringField("frozen_graph", frozen);
                    }
                    g.writeEndObject();
                }
                g.writeEndObject();
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.toString();
    }

    private static void jsonTensors(JsonGenerator g, String kind, Map<String, TensorSpec> specs) throws IOException {
        g.writeObjectFieldStart(kind);
        for (TensorSpec t : specs.values()) {
            g.writeObjectFieldStart(t.alias());
            g.writeStringField("dtype", t.dtypeName());
            g.writeFieldName("shape");
            if (t.shape() == null) {
                g.writeNull();
            } else {
                g.writeStartArray();
                for (long d : t.shape()) {
                    g.writeNumber(d);
                }
                g.writeEndArray();
            }
            g.writeStringField("name", t.tensorName());
            g.writeEndObject();
        }
        g.writeEndObject();
    }
}
