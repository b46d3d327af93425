package org.sparkssm.nn;

/**
 * The trainable selective scan's forward and backward over a {@link SelectiveScanGrad.Tape}:
 * {@link SelectiveScanGrad} on the CPU, or a device twin ({@code org.sparkssm.gpu.GpuSelectiveScanGrad})
 * that reads and writes the same tape.
 */
public interface TapeScan {
  /** Writes {@code tape.y} from the tape's inputs, every sequence from the zero state. */
  void forward(double[] p, int pOff, SelectiveScanGrad.Tape tape, int batch, int len);

  /** After {@link #forward} on the same tape: the input gradients into the tape; gA, gD, gbias added into gp. */
  void backward(double[] p, int pOff, double[] gp, int gpOff, SelectiveScanGrad.Tape tape, int batch, int len);
}
