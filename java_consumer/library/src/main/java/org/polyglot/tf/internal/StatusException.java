package org.polyglot.tf.internal;

import java.util.Objects;

/**
 * The consumer's one error type (tests/CONTRACT.md, "Errors"): a canonical {@link Code} and a
 * one-line message naming what was wrong (and, for a request, what the signature expects).
 *
 * <p>The edges write it as {@code java_consumer: error: <message>} on the command line (exit
 * status {@code code().exitStatus()}, derived in {@code org.polyglot.tf.cli.Main} only) or as
 * {@code {"error": "<message>"}} in {@code serve-stdio}; the public API
 * ({@code org.polyglot.tf.api.ModelException}) gives {@link #libraryMessage()} instead. Messages
 * that the catalog defines come from {@link Messages#error(String, java.util.Map)}; the factories
 * here are for the others.
 */
public final class StatusException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** The canonical code. */
    private final Code code;

    /** The message without command-line flags, or {@code null} when it is the message itself. */
    private final String libraryMessage;

    /**
     * Creates an error.
     *
     * @param code the canonical code
     * @param message the message (folded into one line)
     * @param cause the underlying exception, or {@code null}
     */
    public StatusException(Code code, String message, Throwable cause) {
        this(code, message, null, cause);
    }

    /**
     * Creates an error whose library text differs from its command-line text.
     *
     * @param code the canonical code
     * @param message the message as the command line writes it (folded into one line)
     * @param libraryMessage the same message without command-line flags, or {@code null} for
     *     {@code message}
     * @param cause the underlying exception, or {@code null}
     */
    public StatusException(Code code, String message, String libraryMessage, Throwable cause) {
        super(Json.oneLine(message), cause, false, false);
        this.code = Objects.requireNonNull(code, "code");
        this.libraryMessage = libraryMessage == null ? null : Json.oneLine(libraryMessage);
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
     * Returns the message as a library's API gives it: the catalog's {@code library} text where
     * the command-line text names a flag (tests/CONTRACT.md, "Errors"), else the message.
     *
     * @return the one-line message
     */
    public String libraryMessage() {
        return libraryMessage != null ? libraryMessage : getMessage();
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
