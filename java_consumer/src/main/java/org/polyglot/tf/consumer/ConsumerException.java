package org.polyglot.tf.consumer;

/**
 * An error the consumer reports as one line {@code java_consumer: error: <message>} (or as
 * {@code {"error": "<message>"}} in {@code serve-stdio}).
 *
 * <p>A <em>refusal</em> (exit status 2) is anything wrong with what the caller gave: flags, model
 * path, model files, request. A <em>failure</em> (exit status 1) is TensorFlow failing to run a
 * valid request, or an output that cannot be written as the requested response.
 */
public final class ConsumerException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Exit status of a refusal. */
    public static final int REFUSAL = 2;

    /** Exit status of a failure. */
    public static final int FAILURE = 1;

    private final int exitStatus;

    private ConsumerException(int exitStatus, String message, Throwable cause) {
        super(Json.oneLine(message), cause, false, false);
        this.exitStatus = exitStatus;
    }

    /**
     * Creates a refusal (exit status 2).
     *
     * @param message what was wrong and, for request errors, what the signature expects
     * @return the exception
     */
    public static ConsumerException refusal(String message) {
        return new ConsumerException(REFUSAL, message, null);
    }

    /**
     * Creates a refusal (exit status 2) with a cause.
     *
     * @param message what was wrong
     * @param cause the underlying exception
     * @return the exception
     */
    public static ConsumerException refusal(String message, Throwable cause) {
        return new ConsumerException(REFUSAL, message, cause);
    }

    /**
     * Creates a failure (exit status 1).
     *
     * @param message what failed
     * @return the exception
     */
    public static ConsumerException failure(String message) {
        return new ConsumerException(FAILURE, message, null);
    }

    /**
     * Returns the process exit status for this error.
     *
     * @return {@link #REFUSAL} or {@link #FAILURE}
     */
    public int exitStatus() {
        return exitStatus;
    }
}
