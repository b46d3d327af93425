package org.sparkssm.scan;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class VectorSupportTest {
  @Test
  void vectorPathsAreExercisedByTheTestSuite() {
    // Surefire runs with --add-modules=jdk.incubator.vector, so the kernel tests cover the vector
    // paths through the public entry points (and the scalar paths directly). If this fails, the
    // vector kernels went untested.
    assertTrue(Boolean.getBoolean("sparkssm.scalar") || VectorSupport.ENABLED,
        "jdk.incubator.vector is not in the test JVM's boot layer");
  }
}
