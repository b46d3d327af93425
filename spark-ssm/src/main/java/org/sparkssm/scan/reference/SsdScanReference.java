package org.sparkssm.scan.reference;

import org.sparkssm.Checks;
import org.sparkssm.scan.SsdScan;

/**
 * The float64 reference twin of {@link SsdScan}: Mamba-2's SSD recurrence written straight from
 * its definition, one step at a time, no blocks. Slow ({@code L H P N} work, strided), and meant
 * for tests only. Per step {@code t} and head {@code h}, group {@code g = h / (H/G)}:
 * <pre>
 *   Δ       = dt_t,h (+ dtBias_h), then softplus if enabled
 *   a       = exp(Δ · A_h)
 *   S_h,p,n ← a · S_h,p,n + Δ · x_t,h,p · B_t,g,n
 *   y_t,h,p = Σ_n C_t,g,n · S_h,p,n + Dskip_h · x_t,h,p
 * </pre>
 * Layout as in {@link SsdScan}: {@code x[(t*H + h)*P + p]}, {@code dt[t*H + h]},
 * {@code B[(t*G + g)*N + n]}, C like B, y like x, {@code state[(h*P + p)*N + n]} (initial state in,
 * final state out).
 */
public final class SsdScanReference {
  private SsdScanReference() {}

  /** The sequential recurrence; arguments as in {@link SsdScan#scan} less the block length. */
  public static void scan(SsdScan.Params params, int length, double[] x, int xOff, double[] dt, int dtOff,
      double[] B, int bOff, double[] C, int cOff, double[] y, int yOff, double[] state) {
    Checks.notNull("params", params);
    Checks.nonNegative("length", length);
    int heads = params.heads();
    int pDim = params.headDim();
    int nDim = params.stateSize();
    int groups = params.groups();
    Checks.range("x", x, xOff, (long) length * heads * pDim);
    Checks.range("dt", dt, dtOff, (long) length * heads);
    Checks.range("B", B, bOff, (long) length * groups * nDim);
    Checks.range("C", C, cOff, (long) length * groups * nDim);
    Checks.range("y", y, yOff, (long) length * heads * pDim);
    Checks.length("state", state, heads * pDim * nDim, "H*P*N");
    double[] a = params.a();
    double[] dSkip = params.dSkip();
    double[] dtBias = params.dtBias();
    int headsPerGroup = heads / groups;

    for (int t = 0; t < length; t++) {
      for (int h = 0; h < heads; h++) {
        int g = h / headsPerGroup;
        double delta = dt[dtOff + t * heads + h];
        if (dtBias != null) {
          delta += dtBias[h];
        }
        if (params.dtSoftplus()) {
          // log(1 + e^v), rewritten for large v so e^v does not overflow.
          delta = delta > 0 ? delta + Math.log1p(Math.exp(-delta)) : Math.log1p(Math.exp(delta));
        }
        double decay = Math.exp(delta * a[h]);
        for (int p = 0; p < pDim; p++) {
          double xv = x[xOff + (t * heads + h) * pDim + p];
          double out = 0;
          for (int n = 0; n < nDim; n++) {
            int s = (h * pDim + p) * nDim + n;
            state[s] = decay * state[s] + delta * xv * B[bOff + (t * groups + g) * nDim + n];
            out += C[cOff + (t * groups + g) * nDim + n] * state[s];
          }
          if (dSkip != null) {
            out += dSkip[h] * xv;
          }
          y[yOff + (t * heads + h) * pDim + p] = out;
        }
      }
    }
  }
}
