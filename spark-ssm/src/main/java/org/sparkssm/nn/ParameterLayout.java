package org.sparkssm.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.sparkssm.Checks;
import org.sparkssm.state.Fingerprint;

/**
 * Where every named tensor of a network lives in its one flat parameter array (and, at the same
 * offsets, in its one flat gradient array). Layers reserve their tensors while the network is
 * built ({@link #add}); afterwards the layout is read-only and the whole parameter vector, or a
 * whole gradient, is a single {@code double[]} of {@link #size()} elements: a value that threads
 * and Spark workers can sum in a fixed order.
 *
 * <p>Names and shapes follow PyTorch's {@code state_dict} (e.g. {@code layers.0.mixer.in_proj.weight},
 * shape {@code (out, in)}, row-major), so weights round-trip through safetensors unchanged.
 */
public final class ParameterLayout {
  /** One named tensor: its shape (PyTorch order, row-major) and where it starts. */
  public record Tensor(String name, int[] shape, int offset, int size) {
    @Override
    public String toString() {
      return name + Arrays.toString(shape) + "@" + offset;
    }
  }

  private final Map<String, Tensor> tensors = new LinkedHashMap<>();
  private int size;
  private boolean frozen;

  /**
   * Reserves a tensor and returns its offset.
   *
   * @throws IllegalArgumentException when the name is taken, a dimension is below 1, or the
   *     layout is already frozen
   */
  public int add(String name, int... shape) {
    Checks.notNull("name", name);
    if (frozen) {
      Checks.fail("parameter '%s': the layout is frozen (a network's tensors are fixed once it is built)", name);
    }
    if (tensors.containsKey(name)) {
      Checks.fail("parameter '%s': expected a new name, got one already in the layout", name);
    }
    long count = 1;
    for (int d : shape) {
      Checks.positive(name + " dimension", d);
      count *= d;
    }
    if (size + count > Integer.MAX_VALUE - 8) {
      Checks.fail("parameter '%s': the layout would exceed %d doubles", name, Integer.MAX_VALUE - 8);
    }
    Tensor t = new Tensor(name, shape.clone(), size, (int) count);
    tensors.put(name, t);
    size += (int) count;
    return t.offset();
  }

  /** Ends construction: no tensor can be added after this. */
  public ParameterLayout freeze() {
    frozen = true;
    return this;
  }

  /** Total number of parameters: the length of the parameter and gradient arrays. */
  public int size() {
    return size;
  }

  public List<Tensor> tensors() {
    return Collections.unmodifiableList(new ArrayList<>(tensors.values()));
  }

  /** The tensor of that name, or an error naming it. */
  public Tensor tensor(String name) {
    Tensor t = tensors.get(name);
    if (t == null) {
      Checks.fail("parameter '%s': not in this network (it has %d tensors)", name, tensors.size());
    }
    return t;
  }

  /** A fingerprint of every name and shape, in order: two networks with equal fingerprints share a layout. */
  public long fingerprint() {
    Fingerprint f = new Fingerprint().add("ParameterLayout");
    for (Tensor t : tensors.values()) {
      f.add(t.name());
      for (int d : t.shape()) {
        f.add(d);
      }
    }
    return f.value();
  }
}
