package org.polyglot.tf.api;

import org.polyglot.tf.internal.StatusException;

/**
 * A failure of the library: a refused model, signature or tensor, or TensorFlow failing. It
 * carries the canonical code of tests/CONTRACT.md, "Errors" (the gRPC status names), and the
 * contract's message.
 */
public class ModelException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** The contract's canonical error codes. */
    public enum Code {
        /** A bad argument: an option, a request, a tensor whose dtype or shape does not fit. */
        INVALID_ARGUMENT,
        /** No such model folder, version, signature, frozen graph or file. */
        NOT_FOUND,
        /**
         * A model that may not be run as it is: it fails manifest verification, holds an unsafe op
         * or an unknown dtype, or is closed.
         */
        FAILED_PRECONDITION,
        /** A request over a size limit. */
        RESOURCE_EXHAUSTED,
        /** A request past its deadline. */
        DEADLINE_EXCEEDED,
        /** No version ready to serve. */
        UNAVAILABLE,
        /** TensorFlow failing to run a valid request, or a bug. */
        INTERNAL
    }

    /** The canonical code. */
    private final Code code;

    /**
     * Creates an exception.
     *
     * @param code the canonical code
     * @param message the message
     * @param cause the underlying failure, or {@code null}
     */
    public ModelException(Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = java.util.Objects.requireNonNull(code, "code");
    }

    /**
     * Creates an exception without a cause.
     *
     * @param code the canonical code
     * @param message the message
     */
    public ModelException(Code code, String message) {
        this(code, message, null);
    }

    /**
     * Returns the canonical code.
     *
     * @return the code, never {@code null}
     */
    public Code code() {
        return code;
    }

    /** The library's failure for one of the implementation's: the same code, its message without command-line flags. */
    static ModelException of(StatusException e) {
        return new ModelException(Code.valueOf(e.code().name()), e.libraryMessage(), e);
    }
}
