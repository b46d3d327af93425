package org.sparkssm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.sparkssm.discretize.Discretization;
import org.sparkssm.scan.ContinuousDiagonalSsm;
import org.sparkssm.scan.DiagonalScan;
import org.sparkssm.scan.DiagonalSsm;
import org.sparkssm.state.ScanState;

/** The README's engine snippet, verbatim, with the claims it makes asserted. */
class ReadmeExampleTest {
  @Test
  void readmeSnippetRunsAndChunkingMatchesOneCall() {
    ContinuousDiagonalSsm sys = ContinuousDiagonalSsm.of(2, 3, Discretization.ZOH,
        new double[] {-0.5, -1, -2, -0.5, -1, -2}, null,   // A (D, N) as [d * N + n]
        new double[] {1, 1, 1, 1, 1, 1}, null,             // B
        new double[] {1, -1, 0.5, 1, -1, 0.5}, null,       // C
        null);                                             // no D-skip
    DiagonalSsm m = sys.discretize(0.1);

    double[] u = {1, 0, 0, 1, 2, 2, 0, 0};                 // L = 4 steps, time-major u[t * D + d]
    double[] y = new double[u.length];
    double[] h = new double[m.stateSize()];                // initial state in, final state out
    DiagonalScan.scan(m, u, 0, y, 0, 2, h);                // the first two steps ...
    DiagonalScan.scan(m, u, 4, y, 4, 2, h);                // ... then the rest: same as one call

    ScanState saved = ScanState.of(m.fingerprint(), 4, h); // resumable later, by this model only
    byte[] bytes = saved.toBytes();

    double[] yOne = new double[u.length];
    double[] hOne = new double[m.stateSize()];
    DiagonalScan.scan(m, u, 0, yOne, 0, 4, hOne);
    assertArrayEquals(yOne, y);
    assertArrayEquals(hOne, h);
    assertEquals(saved, ScanState.fromBytes(bytes, m.fingerprint(), "readme"));
  }
}
