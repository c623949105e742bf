package org.polyglot.tf.internal;

import com.google.protobuf.InvalidProtocolBufferException;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.GraphOptions;
import org.tensorflow.proto.RewriterConfig;

/**
 * The one place that builds the {@code tensorflow.ConfigProto} of every TensorFlow session the
 * consumer creates (SavedModel or frozen graph; {@code predict}, {@code serve}, {@code bench},
 * {@code soak}, {@code train}, ...), as {@code tests/CONTRACT.md} ("Numeric configuration")
 * requires: {@code graph_options.rewrite_options.constant_folding} is {@code OFF}, with the
 * user's thread counts where a command takes them; every other field (every other Grappler pass
 * included) keeps TensorFlow's default.
 *
 * <p>Constant folding is off because it rewrites {@code x / c} into {@code x * (1 / c)} for a
 * constant {@code c}, and whether {@code c} is a constant differs between a SavedModel session
 * (variables) and a frozen graph ({@code Const}); with it on the formats differ by a few ULP in
 * float32, with it off they give the same bits as Python's reference responses.
 *
 * <p>There is no "TensorFlow defaults" configuration: {@link TfSession} refuses a missing
 * configuration and one that does not turn constant folding off ({@link #check(byte[])}).
 */
public final class SessionConfig {

    private SessionConfig() {
    }

    /**
     * Builds the contract's session configuration (tests/CONTRACT.md, "Numeric configuration").
     *
     * @param intraOpThreads {@code intra_op_parallelism_threads} (0: TensorFlow's choice)
     * @param interOpThreads {@code inter_op_parallelism_threads} (0: TensorFlow's choice)
     * @return a {@code ConfigProto} with {@code graph_options.rewrite_options.constant_folding}
     *     {@code OFF} and the given thread counts
     * @throws IllegalArgumentException for a negative thread count (the commands refuse those
     *     before this call)
     */
    public static ConfigProto proto(int intraOpThreads, int interOpThreads) {
        if (intraOpThreads < 0 || interOpThreads < 0) {
            throw new IllegalArgumentException("thread counts must be >= 0, not " + intraOpThreads + "/" + interOpThreads);
        }
        return ConfigProto.newBuilder()
                .setIntraOpParallelismThreads(intraOpThreads)
                .setInterOpParallelismThreads(interOpThreads)
                .setGraphOptions(GraphOptions.newBuilder()
                        .setRewriteOptions(RewriterConfig.newBuilder()
                                .setConstantFolding(RewriterConfig.Toggle.OFF)))
                .build();
    }

    /**
     * Serializes {@link #proto(int, int)}, for {@code TF_SetConfig}.
     *
     * @param intraOpThreads {@code intra_op_parallelism_threads} (0: TensorFlow's choice)
     * @param interOpThreads {@code inter_op_parallelism_threads} (0: TensorFlow's choice)
     * @return the serialized {@code tensorflow.ConfigProto}
     */
    public static byte[] serialized(int intraOpThreads, int interOpThreads) {
        return proto(intraOpThreads, interOpThreads).toByteArray();
    }

    /**
     * The configuration of a command that takes no thread counts: {@code serialized(0, 0)}
     * (constant folding off, TensorFlow's thread pools).
     *
     * @return the serialized {@code tensorflow.ConfigProto}
     */
    public static byte[] contract() {
        return serialized(0, 0);
    }

    /**
     * Checks that a serialized configuration is one the contract allows: not missing, and with
     * {@code graph_options.rewrite_options.constant_folding} {@code OFF}.
     *
     * @param config a serialized {@code tensorflow.ConfigProto}
     * @throws NullPointerException when {@code config} is null (null no longer means TensorFlow's
     *     defaults; pass {@link #contract()})
     * @throws StatusException when the bytes are not a {@code ConfigProto}
     * @throws IllegalArgumentException when constant folding is not {@code OFF}
     */
    public static void check(byte[] config) {
        if (config == null) {
            throw new NullPointerException("session config is required (tests/CONTRACT.md, \"Numeric configuration\"); "
                    + "use SessionConfig.contract() or SessionConfig.serialized(intra, inter)");
        }
        ConfigProto parsed;
        try {
            parsed = ConfigProto.parseFrom(config);
        } catch (InvalidProtocolBufferException e) {
            throw StatusException.invalidArgument("TensorFlow rejects the session configuration: not a ConfigProto: " + e.getMessage());
        }
        RewriterConfig.Toggle folding = parsed.getGraphOptions().getRewriteOptions().getConstantFolding();
        if (folding != RewriterConfig.Toggle.OFF) {
            throw new IllegalArgumentException("session config must turn Grappler's constant folding OFF "
                    + "(tests/CONTRACT.md, \"Numeric configuration\"), not " + folding);
        }
    }
}
