package org.polyglot.tf.internal;

import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * The canonical error codes of the contract (tests/CONTRACT.md, "Errors"): TensorFlow's own
 * ({@code tensorflow/core/protobuf/error_codes.proto}), named as in the {@code codes} table of
 * {@code tests/cases/messages.json}. What an edge makes of a code (the command line's exit status,
 * the REST API's HTTP status, the gRPC status code) is that table's row, read from the jar's
 * resource ({@link SharedData#MESSAGES}); nothing else decides a status.
 *
 * <p>Success is no code; {@code run-cases} answers it as {@value #OK}.
 */
public enum Code {
    /** A bad flag, request, data file or option. */
    INVALID_ARGUMENT,
    /** No such model path, version, signature, frozen graph or file. */
    NOT_FOUND,
    /**
     * A model that may not be run as it is: it fails verification, holds an unsafe op or an
     * unknown dtype; or an earlier run's checkpoints without {@code --resume}.
     */
    FAILED_PRECONDITION,
    /** A request over a size limit. */
    RESOURCE_EXHAUSTED,
    /** A request past its deadline. */
    DEADLINE_EXCEEDED,
    /** No version ready to serve, a server shutting down. */
    UNAVAILABLE,
    /** TensorFlow failing to run a valid request, a training run that diverged, a bug. */
    INTERNAL;

    /** The name {@code run-cases} answers for a command that succeeded (no error, no code). */
    public static final String OK = "OK";

    /**
     * What the edges derive from one code: one row of the {@code codes} table.
     *
     * @param exitStatus the command line's exit status
     * @param httpStatus the REST API's HTTP status
     * @param grpcCode the gRPC status code number
     */
    public record Edges(int exitStatus, int httpStatus, int grpcCode) {
    }

    /**
     * Returns this code's row of the table.
     *
     * @return its exit, HTTP and gRPC statuses
     */
    public Edges edges() {
        return Table.EDGES.get(this);
    }

    /**
     * Returns the command line's exit status for this code (the table's {@code exit_status}).
     *
     * @return 1 or 2
     */
    public int exitStatus() {
        return edges().exitStatus();
    }

    /**
     * Returns the REST API's HTTP status for this code (the table's {@code http_status}).
     *
     * @return e.g. 400
     */
    public int httpStatus() {
        return edges().httpStatus();
    }

    /**
     * Returns the gRPC status code for this code (the table's {@code grpc_code}).
     *
     * @return e.g. 3
     */
    public int grpcCode() {
        return edges().grpcCode();
    }

    /**
     * The table, read once from the resource; a holder class so that the enum's constants exist
     * before it is read.
     */
    private static final class Table {
        static final Map<Code, Edges> EDGES = load();

        private static Map<Code, Edges> load() {
            String where = SharedData.MESSAGES;
            Json.Obj codes = SharedData.object(SharedData.read(SharedData.MESSAGES), "codes", where);
            Set<String> expected = new LinkedHashSet<>();
            for (Code c : values()) {
                expected.add(c.name());
            }
            if (!codes.members().keySet().equals(expected)) {
                throw new IllegalStateException(where + ": the codes " + codes.members().keySet()
                        + " are not this consumer's " + expected);
            }
            Map<Code, Edges> m = new EnumMap<>(Code.class);
            for (Map.Entry<String, Json.Value> e : codes.members().entrySet()) {
                String at = where + " codes." + e.getKey();
                if (!(e.getValue() instanceof Json.Obj row)) {
                    throw new IllegalStateException(at + " is not an object");
                }
                m.put(valueOf(e.getKey()), new Edges(SharedData.integer(row.get("exit_status"), at + ".exit_status"),
                        SharedData.integer(row.get("http_status"), at + ".http_status"),
                        SharedData.integer(row.get("grpc_code"), at + ".grpc_code")));
            }
            return m;
        }
    }
}
