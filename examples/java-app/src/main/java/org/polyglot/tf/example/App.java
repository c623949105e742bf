package org.polyglot.tf.example;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.polyglot.tf.api.Model;
import org.polyglot.tf.api.ModelException;
import org.polyglot.tf.api.RestJson;
import org.polyglot.tf.api.Signature;
import org.polyglot.tf.api.TensorSpec;

/**
 * Opens a zoo model with the library (verified, unsafe ops refused), prints its signatures on
 * stderr and answers one TF Serving REST predict request on stdout.
 *
 * <pre>java -jar target/java-app.jar MODEL_DIR [REQUEST_FILE|-]</pre>
 */
public final class App {

    private App() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: java-app MODEL_DIR [REQUEST_FILE|-]");
            System.exit(2);
        }
        byte[] request;
        if (args.length == 1 || "-".equals(args[1])) {
            try (InputStream in = System.in) {
                request = in.readAllBytes();
            }
        } else {
            request = Files.readAllBytes(Path.of(args[1]));
        }
        try (Model model = Model.loader(Path.of(args[0])).withThreads(1, 1).load()) {
            for (Map.Entry<String, Signature> e : model.signatures().entrySet()) {
                StringBuilder line = new StringBuilder("signature ").append(e.getKey()).append(':');
                for (TensorSpec t : e.getValue().inputs().values()) {
                    line.append(" in ").append(t);
                }
                for (TensorSpec t : e.getValue().outputs().values()) {
                    line.append(" out ").append(t);
                }
                System.err.println(line);
            }
            byte[] response = RestJson.predict(model, request, "serving_default");
            PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
            out.write(response);
            out.write('\n');
            out.flush();
        } catch (ModelException e) {
            System.err.println("java-app: " + e.code() + ": " + e.getMessage());
            System.exit(1);
        }
    }
}
