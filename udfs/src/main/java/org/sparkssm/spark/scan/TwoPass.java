package org.sparkssm.spark.scan;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import org.sparkssm.state.Carry;

/**
 * The driver's step of every two-pass scan (the long-series scan of LTI models and layer stacks,
 * and the long-sequence Mamba scorer): pass 1 gives each block of a series its {@link Carry}
 * (what the block does to any incoming state), this chains them in block order, and pass 2
 * rescans every block from its incoming state. A block's incoming state is the combined carry of
 * the blocks before it applied to zero ({@link Carry#then}, so the associative combine is the
 * production path), and a series' end state is the combined carry of all its blocks.
 *
 * <p>Series keys may be of any type, binary included ({@link BlockKey} compares byte arrays by
 * content); maps keyed by {@link BlockKey} travel to the tasks in broadcasts.
 */
public final class TwoPass {
  private TwoPass() {}

  /** A block of a series in maps shipped between the driver and the tasks. */
  public static final class BlockKey implements Serializable {
    private static final long serialVersionUID = 1L;
    private final Object series;
    private final long block;

    public BlockKey(Object series, long block) {
      this.series = SeriesKeys.lookup(series);
      this.block = block;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof BlockKey && ((BlockKey) o).block == block && Objects.equals(((BlockKey) o).series, series);
    }

    @Override
    public int hashCode() {
      return 31 * Objects.hashCode(series) + Long.hashCode(block);
    }

    @Override
    public String toString() {
      return block + "/" + series;
    }
  }

  /** Pass 1's result for one block: its series, its index in the series, its carry. */
  public static final class Block {
    final Object series;
    final long index;
    final Carry carry;

    public Block(Object series, long index, Carry carry) {
      this.series = series;
      this.index = index;
      this.carry = carry;
    }
  }

  /** Every block's incoming state and every series' end state. */
  public static final class Chain {
    private final Map<BlockKey, double[]> incoming = new HashMap<>();
    private final Map<Object, double[]> end = new HashMap<>();

    /** The incoming state of {@code block} of {@code series} (a fresh copy). */
    public double[] incoming(Object series, long block) {
      return incoming.get(new BlockKey(series, block)).clone();
    }

    /** Every block's incoming state, to broadcast to pass 2. */
    public Map<BlockKey, double[]> incomingStates() {
      return incoming;
    }

    /** The state after the series' last block. */
    public double[] end(Object series) {
      return end.get(SeriesKeys.lookup(series)).clone();
    }
  }

  /** Chains each series' blocks in block order (any order in {@code blocks}). */
  public static Chain chain(Collection<Block> blocks) {
    Chain chain = new Chain();
    for (List<Block> series : bySeries(blocks, b -> b.series, b -> b.index).values()) {
      Carry before = null;
      for (Block b : series) {
        double[] in = before == null ? new double[b.carry.stateSize()] : before.endFromZero();
        chain.incoming.put(new BlockKey(b.series, b.index), in);
        before = before == null ? b.carry : before.then(b.carry);
      }
      chain.end.put(SeriesKeys.lookup(series.get(0).series), before.endFromZero());
    }
    return chain;
  }

  /** {@code blocks} grouped by series (binary keys by content), each group in block order; groups in first-seen order. */
  public static <T> Map<Object, List<T>> bySeries(Collection<T> blocks, Function<T, Object> series,
      ToLongFunction<T> index) {
    Map<Object, List<T>> out = new LinkedHashMap<>();
    for (T b : blocks) {
      out.computeIfAbsent(SeriesKeys.lookup(series.apply(b)), k -> new ArrayList<>()).add(b);
    }
    for (List<T> group : out.values()) {
      group.sort(Comparator.comparingLong(index));
    }
    return out;
  }
}
