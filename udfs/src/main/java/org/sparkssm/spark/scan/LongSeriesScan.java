package org.sparkssm.spark.scan;

import static org.apache.spark.sql.functions.col;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.sparkssm.state.ScanState;

/**
 * The two-pass scan of series too long for one task. Each series is cut into B blocks of equal
 * time width (B = rows / blockRows, rounded up), the blocks are spread over P partitions, and:
 * <ol>
 *   <li>pass 1 scans every block from the zero state and keeps its end state {@code e_b} and step
 *       count {@code n_b};</li>
 *   <li>the driver walks each series' blocks in order: {@code h_in(b+1) = Ā^{n_b} h_in(b) + e_b}
 *       ({@link org.sparkssm.scan.ScanModel#decay}, exact by linearity);</li>
 *   <li>pass 2 rescans every block from its incoming state and emits the outputs.</li>
 * </ol>
 * A row's block is a function of its time and its series' extent (first time, last time, rows),
 * so a recomputed partition (a retried task, a lost cache block) holds exactly the same rows: cuts
 * must never depend on how Spark happened to partition or sample the data. One shuffle groups the
 * blocks; the blocked rows are cached between the passes. The result equals the one-shot scan to
 * rounding (the incoming states are computed in a different order) and is bit-identical for a
 * given block size whatever P or the input partitioning. Memory per task is one chunk; the driver
 * holds one state per block.
 */
final class LongSeriesScan {
  private LongSeriesScan() {}

  static final String BLOCK = "__ssm_block";

  /** Pass 1's result for one block. */
  static final class BlockSummary {
    final Object key;
    final long block;
    final long steps;
    final long rows;
    final long firstTime;
    final long lastTime;
    final double[] endFromZero;

    BlockSummary(Object key, long block, long steps, long rows, long firstTime, long lastTime, double[] endFromZero) {
      this.key = key;
      this.block = block;
      this.steps = steps;
      this.rows = rows;
      this.firstTime = firstTime;
      this.lastTime = lastTime;
      this.endFromZero = endFromZero;
    }
  }

  /** What pass 2 needs of a block: its incoming state and whether it ends its series. */
  static final class BlockStart implements Serializable {
    private static final long serialVersionUID = 1L;
    final double[] incoming;
    final long position;
    final boolean lastOfSeries;

    BlockStart(double[] incoming, long position, boolean lastOfSeries) {
      this.incoming = incoming;
      this.position = position;
      this.lastOfSeries = lastOfSeries;
    }
  }

  /** Key of a block in maps shipped between driver and tasks. */
  static String blockId(Object key, long block) {
    return block + "/" + key;
  }

  /** Per long series: first and last time and row count, from one aggregation. */
  static final class Extent implements Serializable {
    private static final long serialVersionUID = 1L;
    final long minTime;
    final long maxTime;
    final long rows;

    Extent(long minTime, long maxTime, long rows) {
      this.minTime = minTime;
      this.maxTime = maxTime;
      this.rows = rows;
    }

    /** Blocks of about {@code blockRows} rows each, cut at equal time widths. */
    long blocks(long blockRows) {
      return Math.max(1, (rows + blockRows - 1) / blockRows);
    }
  }

  /**
   * The block of each row: {@code floor((t - min) * B / (max - min + 1))} for its series' extent
   * and block count B. A function of the row and the data's extents only, so recomputing any
   * partition (a retry, a lost cache) puts every row in the same block.
   */
  static org.apache.spark.sql.Column blockOf(String key, String t, Map<Object, Extent> extents, long blockRows) {
    org.apache.spark.sql.Column expr = null;
    for (Map.Entry<Object, Extent> e : extents.entrySet()) {
      Extent x = e.getValue();
      java.math.BigDecimal span = java.math.BigDecimal.valueOf(x.maxTime).subtract(java.math.BigDecimal.valueOf(x.minTime))
          .add(java.math.BigDecimal.ONE);
      // Exact integer arithmetic in decimal: (t - min) * B / span, floored.
      org.apache.spark.sql.Column block = functions.floor(col(t).cast("decimal(38,0)")
          .minus(functions.lit(x.minTime).cast("decimal(38,0)"))
          .multiply(functions.lit(x.blocks(blockRows)).cast("decimal(38,0)"))
          .divide(functions.lit(span).cast("decimal(38,0)"))).cast(DataTypes.LongType);
      org.apache.spark.sql.Column when = col(key).equalTo(functions.lit(e.getKey()));
      expr = expr == null ? functions.when(when, block) : expr.when(when, block);
    }
    // A null time gets block 0, where the segment scan reports it naming the series.
    return functions.coalesce(expr, functions.lit(0L));
  }

  /**
   * @param rows projected rows {@code [key, t, v...]} of the long series only
   * @param extents min time, max time and rows of each long series
   * @param cached receives the cached blocked rows, which pass 2 reads lazily: the caller releases them
   * @return rows in the internal output layout of {@link SegmentScan}
   */
  static Dataset<Row> scan(SparkSession spark, Dataset<Row> rows, Map<Object, Extent> extents, ScanConfig config,
      long blockRows, int partitions, StructType internalSchema, List<Dataset<Row>> cached) {
    String key = rows.columns()[0];
    String t = rows.columns()[1];
    int width = rows.schema().size();
    Dataset<Row> blocked = rows.withColumn(BLOCK, blockOf(key, t, extents, blockRows))
        .repartition(partitions, col(key), col(BLOCK)).sortWithinPartitions(key, BLOCK, t)
        .persist(StorageLevel.MEMORY_AND_DISK());
    cached.add(blocked);

    // 3. Pass 1: every block from zero.
    StructType summarySchema = new StructType().add("key", rows.schema().apply(key).dataType())
        .add("block", DataTypes.LongType).add("steps", DataTypes.LongType).add("rows", DataTypes.LongType)
        .add("first", DataTypes.LongType)
        .add("last", DataTypes.LongType).add("end", DataTypes.BinaryType);
    MapPartitionsFunction<Row, Row> pass1 = part -> {
      List<Row> out = new ArrayList<>();
      BlockIterator it = new BlockIterator(part, width);
      while (it.nextBlock()) {
        SegmentScan scan = new SegmentScan(config, it.key, it, new double[config.model.stateSize()], 0, Long.MIN_VALUE,
            false);
        scan.drain();
        it.skipRest();
        // The end state travels as ScanState bytes (position unused here).
        out.add(RowFactory.create(it.key, it.block, scan.stepsTaken(), scan.rowsScanned(), scan.firstTime(),
            scan.lastTime(), ScanState.of(config.model.fingerprint(), 0, scan.state()).toBytes()));
      }
      return out.iterator();
    };
    List<BlockSummary> summaries = new ArrayList<>();
    for (Row r : blocked.mapPartitions(pass1, Encoders.row(summarySchema)).collectAsList()) {
      double[] end = ScanState.fromBytes((byte[]) r.get(6), config.model.fingerprint(), "pass 1 of the two-pass scan")
          .hidden();
      summaries.add(new BlockSummary(r.get(0), r.getLong(1), r.getLong(2), r.getLong(3), r.getLong(4), r.getLong(5),
          end));
    }

    // 4. The driver: each block's incoming state, series by series, blocks in order.
    Map<Object, List<BlockSummary>> bySeries = new HashMap<>();
    for (BlockSummary s : summaries) {
      bySeries.computeIfAbsent(s.key, k -> new ArrayList<>()).add(s);
    }
    Map<String, BlockStart> starts = new HashMap<>();
    for (List<BlockSummary> blocks : bySeries.values()) {
      blocks.sort(Comparator.comparingLong(s -> s.block));
      double[] h = new double[config.model.stateSize()];
      long position = 0;
      for (int i = 0; i < blocks.size(); i++) {
        BlockSummary s = blocks.get(i);
        if (i > 0 && blocks.get(i - 1).lastTime >= s.firstTime) {
          throw new IllegalArgumentException(String.format(
              "column '%s': expected strictly increasing times, got %d twice in series %s (duplicate timestamp)",
              config.timeColumn, s.firstTime, config.describe(s.key)));
        }
        starts.put(blockId(s.key, s.block), new BlockStart(h.clone(), position, i == blocks.size() - 1));
        position += s.rows;
        config.model.decay(h, s.steps);
        for (int k = 0; k < h.length; k++) {
          h[k] += s.endFromZero[k];
        }
      }
    }
    Broadcast<Map<String, BlockStart>> incoming = spark.sparkContext()
        .broadcast(starts, scala.reflect.ClassTag$.MODULE$.apply(Map.class));

    // 5. Pass 2: every block from its incoming state.
    MapPartitionsFunction<Row, Row> pass2 = part -> new Iterator<Row>() {
      private final BlockIterator it = new BlockIterator(part, width);
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
          BlockStart start = incoming.value().get(blockId(it.key, it.block));
          current = new SegmentScan(config, it.key, it, start.incoming.clone(), start.position, Long.MIN_VALUE,
              start.lastOfSeries);
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
    };
    return blocked.mapPartitions(pass2, Encoders.row(internalSchema));
  }

  /**
   * Walks a partition's rows (sorted by series, block, time) block by block: {@link #nextBlock()}
   * moves to the next block, and the iterator then yields that block's rows only.
   */
  static final class BlockIterator implements Iterator<Row> {
    private final Iterator<Row> rows;
    private final int blockColumn;
    private Row peeked;
    Object key;
    long block = -1;

    BlockIterator(Iterator<Row> rows, int width) {
      this.rows = rows;
      this.blockColumn = width;
    }

    private Row peek() {
      if (peeked == null && rows.hasNext()) {
        peeked = rows.next();
      }
      return peeked;
    }

    boolean nextBlock() {
      Row p = peek();
      if (p == null) {
        return false;
      }
      key = p.get(0);
      block = p.getLong(blockColumn);
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
      Row p = peek();
      return p != null && p.getLong(blockColumn) == block && Objects.equals(p.get(0), key);
    }

    @Override
    public Row next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      Row r = peeked;
      peeked = null;
      return r;
    }
  }
}
