package org.polyglot.tf.cli;

import java.math.BigInteger;
import org.polyglot.tf.internal.Echo;
import picocli.CommandLine;

/**
 * Converts a size flag's text ({@code --max-request-bytes}): a positive decimal integer (values beyond {@code Long.MAX_VALUE}
 * mean no practical limit and become {@code Long.MAX_VALUE - 1}).
 */
public final class LimitConverter implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        if (value == null || !value.matches("[0-9]+") || new BigInteger(value).signum() <= 0) {
            throw new CommandLine.TypeConversionException(Echo.quotedSingle(value) + " is not a positive integer (a size in "
                    + "bytes)");
        }
        BigInteger v = new BigInteger(value);
        return v.bitLength() < 63 ? Math.min(v.longValue(), Long.MAX_VALUE - 1) : Long.MAX_VALUE - 1;
    }
}
