package org.polyglot.tf.internal;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.proto.TensorShapeProto;

/**
 * The signatures of a SavedModel, read from its {@code saved_model.pb} with TensorFlow Java's
 * generated protobuf classes (pure Java: no native library is loaded).
 *
 * @param metaGraphs the MetaGraphDefs in file order
 */
public record SavedModelInfo(List<MetaGraph> metaGraphs) {

    /** The tag set the consumer serves. */
    public static final Set<String> SERVE_TAGS = Set.of("serve");

    /**
     * One MetaGraphDef.
     *
     * @param tags its tags in file order
     * @param producerVersion {@code meta_info_def.tensorflow_version} ({@code ""} when unset)
     * @param signatures its SignatureDefs by key, sorted by key
     */
    public record MetaGraph(List<String> tags, String producerVersion, SortedMap<String, SignatureSpec> signatures) {
    }

    /**
     * Parses {@code saved_model.pb} of a version folder into its {@code SavedModel} proto, naming
     * it in messages as {@code <shown>/saved_model.pb} (tests/CONTRACT.md, "Paths in messages").
     *
     * @param versionDir the version folder
     * @param shown the version folder's text as given ({@link ModelLocation#shown()})
     * @return the parsed SavedModel
     * @throws StatusException when the file cannot be read or parsed
     */
    static SavedModel parseSavedModel(Path versionDir, String shown) {
        Path pb = versionDir.resolve(ModelLocation.SAVED_MODEL_PB);
        String named = ModelLocation.join(shown, ModelLocation.SAVED_MODEL_PB);
        SavedModel sm;
        try {
            sm = SavedModel.parseFrom(Files.readAllBytes(pb));
        } catch (InvalidProtocolBufferException e) {
            throw StatusException.failedPrecondition(Echo.quotedSingle(named) + " is not a valid SavedModel: "
                    + e.getMessage());
        } catch (IOException e) {
            throw StatusException.failedPrecondition("cannot read " + Echo.quotedSingle(named) + ": " + e.getMessage());
        }
        return sm;
    }

    /**
     * Returns the MetaGraphDef proto whose tag set is exactly {@code {"serve"}}, as
     * {@link #serving()} finds it.
     *
     * @param sm the parsed SavedModel
     * @return the serving MetaGraphDef
     * @throws StatusException when there is none, with {@link #serving()}'s message
     */
    static MetaGraphDef servingMetaGraph(SavedModel sm) {
        for (MetaGraphDef mg : sm.getMetaGraphsList()) {
            if (new HashSet<>(mg.getMetaInfoDef().getTagsList()).equals(SERVE_TAGS)) {
                return mg;
            }
        }
        throw noServingMetaGraph(sm.getMetaGraphsList().stream().map(mg -> mg.getMetaInfoDef().getTagsList()).toList());
    }

    /**
     * Reads {@code saved_model.pb} in a version folder, naming it in messages as given.
     *
     * @param versionDir the version folder
     * @param shown the version folder's text as given ({@link ModelLocation#shown()})
     * @return the model's MetaGraphDefs
     * @throws StatusException when the file cannot be read or parsed
     */
    public static SavedModelInfo read(Path versionDir, String shown) {
        SavedModel sm = parseSavedModel(versionDir, shown);
        List<MetaGraph> graphs = new ArrayList<>();
        for (MetaGraphDef mg : sm.getMetaGraphsList()) {
            SortedMap<String, SignatureSpec> sigs = new TreeMap<>(SignatureSpec.CODE_POINT_ORDER);
            for (Map.Entry<String, SignatureDef> e : mg.getSignatureDefMap().entrySet()) {
                sigs.put(e.getKey(), toSpec(e.getKey(), e.getValue()));
            }
            graphs.add(new MetaGraph(List.copyOf(mg.getMetaInfoDef().getTagsList()),
                    mg.getMetaInfoDef().getTensorflowVersion(), Collections.unmodifiableSortedMap(sigs)));
        }
        return new SavedModelInfo(List.copyOf(graphs));
    }

    /**
     * Returns the MetaGraphDef whose tag set is exactly {@code {"serve"}} (the one
     * {@code TF_LoadSessionFromSavedModel} loads for that tag set).
     *
     * @return the serving MetaGraph
     * @throws StatusException when there is none
     */
    public MetaGraph serving() {
        for (MetaGraph g : metaGraphs) {
            if (new HashSet<>(g.tags()).equals(SERVE_TAGS)) {
                return g;
            }
        }
        throw noServingMetaGraph(metaGraphs.stream().map(MetaGraph::tags).toList());
    }

    private static StatusException noServingMetaGraph(List<? extends List<String>> tagSets) {
        List<String> have = new ArrayList<>();
        tagSets.forEach(t -> have.add(t.toString()));
        return StatusException.failedPrecondition("the SavedModel has no MetaGraphDef with tag-set {'serve'} (it has: "
                + (have.isEmpty() ? "none" : String.join(", ", have)) + ")");
    }

    private static SignatureSpec toSpec(String key, SignatureDef def) {
        return new SignatureSpec(key, def.getMethodName(), toSpecs(key, "input", def.getInputsMap()),
                toSpecs(key, "output", def.getOutputsMap()));
    }

    /**
     * Converts a SignatureDef's inputs or outputs.
     *
     * @throws StatusException when a dtype is no {@code DataType} enum value
     *     (tests/CONTRACT.md, "Errors")
     */
    private static SortedMap<String, TensorSpec> toSpecs(String key, String role, Map<String, TensorInfo> infos) {
        SortedMap<String, TensorSpec> m = SignatureSpec.newSpecMap();
        for (Map.Entry<String, TensorInfo> e : infos.entrySet()) {
            TensorInfo ti = e.getValue();
            if (DataType.forNumber(ti.getDtypeValue()) == null) {
                throw invalidDtype(key, role, e.getKey(), ti.getDtypeValue());
            }
            m.put(e.getKey(), new TensorSpec(e.getKey(), ti.getName(), dtypeName(ti.getDtypeValue()),
                    shape(ti.getTensorShape())));
        }
        return m;
    }

    /**
     * Returns the refusal for a SignatureDef dtype that is no {@code DataType} enum value.
     *
     * @param key the signature key
     * @param role {@code input} or {@code output}
     * @param alias the input or output alias
     * @param dtype the number
     * @return the catalog's {@code invalid_dtype} ({@link Code#FAILED_PRECONDITION}):
     *     {@code signature "<key>" <role> "<alias>" has dtype <N>, which is not a TensorFlow
     *     DataType this consumer handles}
     */
    static StatusException invalidDtype(String key, String role, String alias, int dtype) {
        return Messages.error("invalid_dtype", Map.of("signature", key, "direction", role, "alias", alias,
                "dtype", Integer.toString(dtype)));
    }

    /**
     * Returns the {@code DataType} enum name for a number.
     *
     * @param value the {@code DataType} number
     * @return e.g. {@code DT_DOUBLE}; {@code DT_<value>} when the enum has no such value
     */
    static String dtypeName(int value) {
        DataType dt = DataType.forNumber(value);
        return dt == null ? "DT_" + value : dt.name();
    }

    /**
     * Converts a TensorShapeProto.
     *
     * @param shape the proto
     * @return dims ({@code -1} unknown), or {@code null} for an unknown rank
     */
    static long[] shape(TensorShapeProto shape) {
        if (shape.getUnknownRank()) {
            return null;
        }
        long[] dims = new long[shape.getDimCount()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = shape.getDim(i).getSize();
        }
        return dims;
    }
}
