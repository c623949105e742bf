package org.polyglot.tf.internal;

import java.util.Objects;

/**
 * The consumer's one error type (tests/CONTRACT.md, "Errors"): a canonical {@link Code} and a
 * one-line message naming what was wrong (and, for a request, what the signature expects).
 *
 * <p>The edges write it as {@code java_consumer: error: <message>} on the command line (exit
 * status {@code code().exitStatus()}, derived in {@link Main} only) or as
 * {@code {"error": "<message>"}} in {@code serve-stdio}. Messages that the catalog defines come
 * from {@link Messages#error(String, java.util.Map)}; the factories here are for the others.
 */
public final class StatusException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** The canonical code. */
    private final Code code;

    /**
     * Creates an error.
     *
     * @param code the canonical code
     * @param message the message (folded into one line)
     * @param cause the underlying exception, or {@code null}
     */
    public StatusException(Code code, String message, Throwable cause) {
        super(Json.oneLine(message), cause, false, false);
        this.code = Objects.requireNonNull(code, "code");
    }

    /**
     * Creates an error without a cause.
     *
     * @param code the canonical code
     * @param message the message (folded into one line)
     */
    public StatusException(Code code, String message) {
        this(code, message, null);
    }

    /**
     * Returns the canonical code.
     *
     * @return the code the edges derive their statuses from
     */
    public Code code() {
        return code;
    }

    /**
     * Creates an {@link Code#INVALID_ARGUMENT} error: a bad flag, request, data file or option.
     *
     * @param message what was wrong
     * @return the error
     */
    public static StatusException invalidArgument(String message) {
        return new StatusException(Code.INVALID_ARGUMENT, message);
    }

    /**
     * Creates an {@link Code#INVALID_ARGUMENT} error with a cause.
     *
     * @param message what was wrong
     * @param cause the underlying exception
     * @return the error
     */
    public static StatusException invalidArgument(String message, Throwable cause) {
        return new StatusException(Code.INVALID_ARGUMENT, message, cause);
    }

    /**
     * Creates a {@link Code#NOT_FOUND} error: no such path, version, signature or file.
     *
     * @param message what was not found
     * @return the error
     */
    public static StatusException notFound(String message) {
        return new StatusException(Code.NOT_FOUND, message);
    }

    /**
     * Creates a {@link Code#FAILED_PRECONDITION} error: a model that may not be run as it is, or
     * a state (an earlier run's checkpoints) that the command may not use as it is.
     *
     * @param message what was wrong
     * @return the error
     */
    public static StatusException failedPrecondition(String message) {
        return new StatusException(Code.FAILED_PRECONDITION, message);
    }

    /**
     * Creates a {@link Code#RESOURCE_EXHAUSTED} error: a request over a size limit.
     *
     * @param message which limit
     * @return the error
     */
    public static StatusException resourceExhausted(String message) {
        return new StatusException(Code.RESOURCE_EXHAUSTED, message);
    }

    /**
     * Creates an {@link Code#INTERNAL} error: TensorFlow failing to run a valid request, a
     * diverged training run, a failure to write results, a bug.
     *
     * @param message what failed
     * @return the error
     */
    public static StatusException internal(String message) {
        return new StatusException(Code.INTERNAL, message);
    }
}
