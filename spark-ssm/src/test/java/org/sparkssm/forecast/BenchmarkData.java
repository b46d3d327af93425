package org.sparkssm.forecast;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Finds the LTSF benchmark files, which live outside the repository (their licences forbid
 * copying them in): system property {@code sparkssm.data}, else the first {@code shared/data}
 * holding ETTh1.csv found walking up from the working directory.
 */
final class BenchmarkData {
  static final String PROPERTY = "sparkssm.data";

  private BenchmarkData() {}

  /** The data folder, or null when none is found. */
  static Path find() {
    String prop = System.getProperty(PROPERTY);
    if (prop != null && !prop.isBlank()) {
      Path p = Paths.get(prop);
      return Files.isRegularFile(p.resolve("ETTh1.csv")) ? p : null;
    }
    for (Path d = Paths.get("").toAbsolutePath(); d != null; d = d.getParent()) {
      Path candidate = d.resolve("shared").resolve("data");
      if (Files.isRegularFile(candidate.resolve("ETTh1.csv"))) {
        return candidate;
      }
    }
    return null;
  }

  /** The data folder; skips the calling test (JUnit assumption) when it is absent. */
  static Path require() {
    Path p = find();
    assumeTrue(p != null, "LTSF benchmark data not found: set -D" + PROPERTY
        + "=/path/to/data (a folder holding ETTh1.csv, weather.csv) or run below a folder with shared/data");
    return p;
  }
}
