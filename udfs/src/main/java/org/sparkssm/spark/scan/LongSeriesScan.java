package org.sparkssm.spark.scan;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

/**
 * The two-pass scan of series too long for one task. Each series is cut into blocks of a fixed
 * number of rows by its rows' positions in time order (so the cuts do not depend on how the input
 * was partitioned), the blocks are spread over P partitions, and:
 * <ol>
 *   <li>pass 1 scans every block from the zero state and keeps its end state {@code e_b} and step
 *       count {@code n_b};</li>
 *   <li>the driver walks each series' blocks in order: {@code h_in(b+1) = Ā^{n_b} h_in(b) + e_b}
 *       ({@link org.sparkssm.scan.ScanModel#decay}, exact by linearity);</li>
 *   <li>pass 2 rescans every block from its incoming state and emits the outputs.</li>
 * </ol>
 * The result equals the one-shot scan to rounding (the incoming states are computed in a different
 * order) and is bit-identical for a given block size whatever P or the input partitioning. Memory
 * per task is one chunk plus one state per block; the driver holds one state per block.
 */
final class LongSeriesScan {
  private LongSeriesScan() {}

  /** Pass 1's result for one block. */
  static final class BlockSummary implements Serializable {
    private static final long serialVersionUID = 1L;
    final int block;
    final long rows;
    final long steps;
    final long firstTime;
    final long lastTime;
    final double[] endFromZero;

    BlockSummary(int block, long rows, long steps, long firstTime, long lastTime, double[] endFromZero) {
      this.block = block;
      this.rows = rows;
      this.steps = steps;
      this.firstTime = firstTime;
      this.lastTime = lastTime;
      this.endFromZero = endFromZero;
    }
  }

  /** Block layout: block o covers global row indices [start[o], start[o+1]) of series key[o]. */
  static final class Blocks implements Serializable {
    private static final long serialVersionUID = 1L;
    final long[] start;
    final Object[] key;
    final long[] positionInSeries;
    final boolean[] lastOfSeries;

    Blocks(long[] start, Object[] key, long[] positionInSeries, boolean[] lastOfSeries) {
      this.start = start;
      this.key = key;
      this.positionInSeries = positionInSeries;
      this.lastOfSeries = lastOfSeries;
    }

    int count() {
      return start.length;
    }

    int blockOf(long index) {
      int i = Arrays.binarySearch(start, index);
      return i >= 0 ? i : -i - 2;
    }
  }

  /** Sends block o to partition o * P / blocks: contiguous runs of blocks per partition. */
  static final class BlockPartitioner extends Partitioner {
    private static final long serialVersionUID = 1L;
    private final Blocks blocks;
    private final int partitions;

    BlockPartitioner(Blocks blocks, int partitions) {
      this.blocks = blocks;
      this.partitions = partitions;
    }

    @Override
    public int numPartitions() {
      return partitions;
    }

    @Override
    public int getPartition(Object index) {
      return (int) ((long) blocks.blockOf((Long) index) * partitions / blocks.count());
    }
  }

  /**
   * @param rows projected rows {@code [key, t, v...]} of the long series only
   * @return rows in the internal output layout of {@link SegmentScan}
   */
  static Dataset<Row> scan(SparkSession spark, Dataset<Row> rows, ScanConfig config, long blockRows, int partitions,
      StructType internalSchema) {
    JavaPairRDD<Row, Long> indexed = rows.orderBy(rows.col(rows.columns()[0]), rows.col(rows.columns()[1]))
        .javaRDD().zipWithIndex();
    // Where each series starts in the global order, and how many rows it has.
    Map<Object, long[]> extents = indexed
        .mapToPair(t -> new Tuple2<Object, long[]>(t._1.get(0), new long[] {t._2, 1}))
        .reduceByKey((a, b) -> new long[] {Math.min(a[0], b[0]), a[1] + b[1]})
        .collectAsMap();
    Blocks blocks = layout(extents, blockRows);
    if (blocks.count() == 0) {
      return spark.createDataFrame(JavaSparkContext.fromSparkContext(spark.sparkContext()).<Row>emptyRDD(),
          internalSchema);
    }
    int p = Math.max(1, Math.min(partitions, blocks.count()));
    JavaPairRDD<Long, Row> byIndex = indexed.mapToPair(t -> new Tuple2<>(t._2, t._1))
        .repartitionAndSortWithinPartitions(new BlockPartitioner(blocks, p))
        .persist(StorageLevel.MEMORY_AND_DISK());

    // Pass 1: every block from zero.
    List<BlockSummary> summaries = new ArrayList<>(byIndex.mapPartitions(part -> {
      List<BlockSummary> out = new ArrayList<>();
      BlockIterator it = new BlockIterator(part, blocks);
      while (it.nextBlock()) {
        SegmentScan scan = new SegmentScan(config, blocks.key[it.block], it, new double[config.model.stateSize()], 0,
            Long.MIN_VALUE, false);
        scan.drain();
        it.skipRest();
        out.add(new BlockSummary(it.block, scan.rowsScanned(), scan.stepsTaken(), scan.firstTime(), scan.lastTime(),
            scan.state()));
      }
      return out.iterator();
    }).collect());
    summaries.sort(Comparator.comparingInt(s -> s.block));

    // The driver: incoming state of every block, in series order.
    double[][] incoming = new double[blocks.count()][];
    double[] h = null;
    for (int o = 0; o < blocks.count(); o++) {
      BlockSummary s = summaries.get(o);
      if (s.block != o) {
        throw new IllegalStateException("pass 1: expected a summary for block " + o + ", got block " + s.block);
      }
      if (blocks.positionInSeries[o] == 0) {
        h = new double[config.model.stateSize()];
      } else if (summaries.get(o - 1).lastTime >= s.firstTime) {
        throw new IllegalArgumentException(String.format(
            "column '%s': expected strictly increasing times, got %d twice in series %s (duplicate timestamp)",
            config.timeColumn, s.firstTime, config.describe(blocks.key[o])));
      }
      incoming[o] = h.clone();
      config.model.decay(h, s.steps);
      for (int i = 0; i < h.length; i++) {
        h[i] += s.endFromZero[i];
      }
    }
    Broadcast<double[][]> states = JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(incoming);

    // Pass 2: every block from its incoming state.
    JavaRDD<Row> out = byIndex.mapPartitions(part -> new Iterator<Row>() {
      private final BlockIterator it = new BlockIterator(part, blocks);
      private SegmentScan current;

      @Override
      public boolean hasNext() {
        while (current == null || !current.hasNext()) {
          if (current != null) {
            it.skipRest();
          }
          if (!it.nextBlock()) {
            return false;
          }
          int o = it.block;
          current = new SegmentScan(config, blocks.key[o], it, states.value()[o].clone(), blocks.positionInSeries[o],
              Long.MIN_VALUE, blocks.lastOfSeries[o]);
        }
        return true;
      }

      @Override
      public Row next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        return current.next();
      }
    });
    return spark.createDataFrame(out, internalSchema);
  }

  static Blocks layout(Map<Object, long[]> extents, long blockRows) {
    List<long[]> starts = new ArrayList<>();
    List<Object> keys = new ArrayList<>();
    List<Object[]> series = new ArrayList<>();
    for (Map.Entry<Object, long[]> e : extents.entrySet()) {
      series.add(new Object[] {e.getKey(), e.getValue()});
    }
    series.sort(Comparator.comparingLong(s -> ((long[]) s[1])[0]));
    List<Long> position = new ArrayList<>();
    List<Boolean> last = new ArrayList<>();
    for (Object[] s : series) {
      long start = ((long[]) s[1])[0];
      long count = ((long[]) s[1])[1];
      for (long off = 0; off < count; off += blockRows) {
        starts.add(new long[] {start + off});
        keys.add(s[0]);
        position.add(off);
        last.add(off + blockRows >= count);
      }
    }
    int n = starts.size();
    long[] start = new long[n];
    long[] pos = new long[n];
    boolean[] lastOf = new boolean[n];
    for (int i = 0; i < n; i++) {
      start[i] = starts.get(i)[0];
      pos[i] = position.get(i);
      lastOf[i] = last.get(i);
    }
    return new Blocks(start, keys.toArray(), pos, lastOf);
  }

  /**
   * Walks a partition's rows (sorted by global index) block by block: {@link #nextBlock()} moves
   * to the next block present, and the iterator then yields that block's rows only.
   */
  static final class BlockIterator implements Iterator<Row> {
    private final Iterator<Tuple2<Long, Row>> rows;
    private final Blocks blocks;
    private Tuple2<Long, Row> peeked;
    int block = -1;

    BlockIterator(Iterator<Tuple2<Long, Row>> rows, Blocks blocks) {
      this.rows = rows;
      this.blocks = blocks;
    }

    private Tuple2<Long, Row> peek() {
      if (peeked == null && rows.hasNext()) {
        peeked = rows.next();
      }
      return peeked;
    }

    boolean nextBlock() {
      Tuple2<Long, Row> p = peek();
      if (p == null) {
        return false;
      }
      block = blocks.blockOf(p._1);
      return true;
    }

    /** Drops what is left of the current block (nothing, once a scan has consumed it). */
    void skipRest() {
      while (hasNext()) {
        next();
      }
    }

    @Override
    public boolean hasNext() {
      Tuple2<Long, Row> p = peek();
      return p != null && blocks.blockOf(p._1) == block;
    }

    @Override
    public Row next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      Row r = peeked._2;
      peeked = null;
      return r;
    }
  }
}
