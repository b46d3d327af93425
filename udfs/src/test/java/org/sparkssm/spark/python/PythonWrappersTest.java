package org.sparkssm.spark.python;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The generated PySpark wrappers: equal to the golden files (a change to a stage's params shows up
 * as a reviewed diff of {@code golden/python}), produced by the build, valid Python, and importable
 * and working against a stub of PySpark (PySpark itself cannot be installed here).
 */
class PythonWrappersTest {
  @TempDir
  Path tmp;

  private static Path resource(String name) throws Exception {
    return Paths.get(PythonWrappersTest.class.getResource(name).toURI());
  }

  @Test
  void generatedFilesEqualTheGoldenOnes() throws Exception {
    Path golden = resource("/golden/python");
    Map<String, String> files = PythonWrappers.files("0.0.0");
    for (Map.Entry<String, String> f : files.entrySet()) {
      String expected = Files.readString(golden.resolve(f.getKey()), StandardCharsets.UTF_8);
      assertEquals(expected, f.getValue(), f.getKey() + " differs from golden/python: regenerate with "
          + "PythonWrappers.main(\"udfs/src/test/resources/golden/python\", \"0.0.0\") and review the diff");
    }
    try (java.util.stream.Stream<Path> all = Files.walk(golden)) {
      assertEquals(files.size(), all.filter(Files::isRegularFile).count(), "no stale golden file");
    }
  }

  @Test
  void theBuildWroteThePackageIntoTarget() throws IOException {
    Path built = Paths.get("target/python");
    assertTrue(Files.isRegularFile(built.resolve("spark_ssm/ml.py")), "process-classes generates " + built);
    String pyproject = Files.readString(built.resolve("pyproject.toml"));
    String version = pyproject.replaceAll("(?s).*\nversion = \"([^\"]+)\".*", "$1");
    assertTrue(version.matches("\\d+\\.\\d+\\.\\d+(\\.dev0)?"), "a PEP 440 version, got " + version);
    assertEquals("0.1.0.dev0", PythonWrappers.pep440("0.1.0-SNAPSHOT"));
    for (Map.Entry<String, String> f : PythonWrappers.files(version).entrySet()) {
      assertEquals(f.getValue(), Files.readString(built.resolve(f.getKey())), f.getKey());
    }
  }

  private static String python(Path dir, String pythonPath, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("python3"));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
    pb.environment().put("PYTHONPATH", pythonPath);
    pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "python3 finished");
    assertEquals(0, p.exitValue(), "python3 " + String.join(" ", args) + ":\n" + out);
    return out;
  }

  @Test
  void thePackageCompilesImportsAndWorksAgainstAPysparkStub() throws Exception {
    Path pkg = tmp.resolve("package");
    for (Map.Entry<String, String> f : PythonWrappers.files("0.0.0").entrySet()) {
      Path p = pkg.resolve(f.getKey());
      Files.createDirectories(p.getParent());
      Files.writeString(p, f.getValue());
    }
    String path = pkg + java.io.File.pathSeparator + resource("/pyspark-stub");
    List<String> compile = new ArrayList<>(List.of("-m", "py_compile"));
    for (String file : PythonWrappers.files("0.0.0").keySet()) {
      if (file.endsWith(".py")) {
        compile.add(pkg.resolve(file).toString());
      }
    }
    python(tmp, path, compile.toArray(new String[0]));
    assertEquals("ok", python(tmp, path, resource("/check_wrappers.py").toString()).trim());
    // A fresh process that never imported spark_ssm, as PySpark's PipelineModel.load finds a JVM
    // stage's Python class: by importing its JVM class name as a module path.
    assertEquals("spark_ssm.ml", python(tmp, path, "-c", "import sys; m = __import__('org.sparkssm.spark.ml', "
        + "fromlist=['SsmForecasterModel']); print(m.SsmForecasterModel.__module__)").trim());
  }
}
