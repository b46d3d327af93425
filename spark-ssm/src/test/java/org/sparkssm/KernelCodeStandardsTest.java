package org.sparkssm;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Scans the kernel sources for constructs that allocate or box in hot loops (EJML's
 * TestEnforceCodeStandards idea): for-each loops, streams, boxed numbers, collections. Reference
 * twins are exempt: they are written for clarity, not speed.
 */
class KernelCodeStandardsTest {
  private static final Path KERNELS = Paths.get("src/main/java/org/sparkssm/scan");

  /** nn classes that are not hot paths: bookkeeping of names and shapes, the training driver's loop over epochs. */
  private static final java.util.Set<String> NN_EXEMPT = java.util.Set.of("ParameterLayout.java", "package-info.java");

  private static final Pattern[] BANNED = {
      Pattern.compile("for\\s*\\([^;]*\\s:\\s"), // for-each
      Pattern.compile("\\.stream\\(|\\bStream\\.|IntStream|DoubleStream"),
      Pattern.compile("\\b(Double|Integer|Long|Float)\\s*>|new (Double|Integer|Long)\\(|\\b(Double|Integer)\\.valueOf\\("),
      Pattern.compile("\\b(List|ArrayList|Map|HashMap)\\s*<"),
  };

  @Test
  void kernelsUseIndexedLoopsAndPrimitivesOnly() throws IOException {
    assertTrue(Files.isDirectory(KERNELS), "run from the spark-ssm module: " + KERNELS.toAbsolutePath());
    List<Path> sources;
    try (Stream<Path> files = Files.list(KERNELS)) {
      sources = files.filter(p -> p.getFileName().toString().matches(".*(Scan|Vector|Convolution|FloatMath).*\\.java"))
          .sorted().collect(Collectors.toCollection(ArrayList::new));
    }
    try (Stream<Path> files = Files.list(Paths.get("src/main/java/org/sparkssm/nn"))) {
      // The trainable layers: forward and backward passes are hot loops too.
      files.filter(p -> p.getFileName().toString().endsWith(".java") && !NN_EXEMPT.contains(p.getFileName().toString()))
          .sorted().forEach(sources::add);
    }
    for (String net : new String[] {"SMambaNet", "S4dNet", "LinearNet", "ChannelFrame"}) {
      sources.add(Paths.get("src/main/java/org/sparkssm/train/" + net + ".java")); // the networks' forward and backward
    }
    assertFalse(sources.isEmpty(), "no kernel sources found");
    List<String> violations = new ArrayList<>();
    for (Path source : sources) {
      List<String> lines = Files.readAllLines(source);
      for (int i = 0; i < lines.size(); i++) {
        // Vector API type arguments (VectorSpecies<Double>, VectorMask<Float>) are types, not boxing.
        String line = lines.get(i).trim().replaceAll("(VectorSpecies|VectorMask|Vector)<(Double|Float)>", "");
        if (line.startsWith("*") || line.startsWith("//") || line.startsWith("/*")) {
          continue;
        }
        for (Pattern banned : BANNED) {
          if (banned.matcher(line).find()) {
            violations.add(source.getFileName() + ":" + (i + 1) + ": " + lines.get(i).trim());
          }
        }
      }
    }
    assertTrue(violations.isEmpty(), "banned constructs in kernels:\n" + String.join("\n", violations));
  }
}
