package org.sparkssm.spark.scan;

import static org.apache.spark.sql.functions.col;

import java.io.Serializable;
import java.util.ArrayList;
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
import org.sparkssm.scan.LayerStack;
import org.sparkssm.scan.ScanModel;
import org.sparkssm.scan.WindowedModel;
import org.sparkssm.state.ScanState;

/**
 * The two-pass scan of series too long for one task. Each series is cut into B blocks of equal
 * time width (B = rows / blockRows, rounded up), the blocks are spread over P partitions, and:
 * <ol>
 *   <li>pass 1 scans every block from the zero state and keeps its end state {@code e_b} and step
 *       count {@code n_b};</li>
 *   <li>the driver chains each series' blocks in order ({@link TwoPass}): block b's carry is
 *       {@code h ← Ā^{n_b} h + e_b} ({@link org.sparkssm.scan.ScanModel#carry}, exact by linearity),
 *       and its incoming state the combined carries of the blocks before it applied to zero;</li>
 *   <li>pass 2 rescans every block from its incoming state and emits the outputs.</li>
 * </ol>
 * <p>A {@link LayerStack} runs stage by stage ({@link Stage}): each stage's windowed layers (causal
 * convolutions, pointwise maps) take their incoming state from the halo, the previous blocks' last
 * present rows (k − 1 for a convolution of width k), collected by one more pass and scanned in
 * block order on the driver; its recurrent layer takes the carry above; pass 2 writes the stage's
 * outputs (cached), which are the next stage's inputs, block by block. The last stage ends each
 * series with the whole stack's state, assembled on the driver from every stage's end state.
 *
 * <p>A row's block is a function of its time and its series' extent (first time, last time, rows),
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

  /** What a block pass reports of one block: extent, steps, end state from zero, last rows. */
  static final class BlockSummary {
    final Object key;
    final long block;
    final long steps;
    final long rows;
    final long firstTime;
    final long lastTime;
    final double[] endFromZero; // the recurrent layer's end state from zero, or null
    final double[] tail;        // the last present rows' inputs (the halo), oldest first, or null

    BlockSummary(Object key, long block, long steps, long rows, long firstTime, long lastTime, double[] endFromZero,
        double[] tail) {
      this.key = key;
      this.block = block;
      this.steps = steps;
      this.rows = rows;
      this.firstTime = firstTime;
      this.lastTime = lastTime;
      this.endFromZero = endFromZero;
      this.tail = tail;
    }
  }

  /** What a stage's pass 2 needs of a block: its incoming state and whether it ends its series. */
  static final class BlockStart implements Serializable {
    private static final long serialVersionUID = 1L;
    final double[] incoming;
    final long position;
    final boolean lastOfSeries;
    /** On a series' last block in the last stage of a stack: the whole stack's end state. */
    double[] stackEndState;

    BlockStart(double[] incoming, long position, boolean lastOfSeries) {
      this.incoming = incoming;
      this.position = position;
      this.lastOfSeries = lastOfSeries;
    }
  }

  /**
   * One stage of the model: windowed layers whose incoming state comes from the previous block's
   * last rows (the halo), then at most one recurrent layer whose incoming state comes from the
   * carry. A model that is not a {@link LayerStack} is one stage: its one layer, recurrent.
   */
  static final class Stage implements Serializable {
    private static final long serialVersionUID = 1L;
    final ScanModel model;
    final ScanModel prefix;    // the windowed layers, or null
    final ScanModel recurrent; // the last layer unless it is windowed, or null
    final int window;          // present rows the prefix state depends on

    private Stage(ScanModel model, ScanModel prefix, ScanModel recurrent, int window) {
      this.model = model;
      this.prefix = prefix;
      this.recurrent = recurrent;
      this.window = window;
    }

    static List<Stage> of(ScanModel model) {
      List<Stage> out = new ArrayList<>();
      if (!(model instanceof LayerStack)) {
        out.add(new Stage(model, null, model, 0));
        return out;
      }
      for (LayerStack stage : ((LayerStack) model).stages()) {
        List<ScanModel> layers = stage.layers();
        ScanModel last = layers.get(layers.size() - 1);
        ScanModel recurrent = last instanceof WindowedModel ? null : last;
        int windowed = recurrent == null ? layers.size() : layers.size() - 1;
        ScanModel prefix = windowed == 0 ? null : LayerStack.of(layers.subList(0, windowed).toArray(new ScanModel[0]));
        out.add(new Stage(stage, prefix, recurrent, stage.prefixWindow()));
      }
      return out;
    }

    int prefixStateSize() {
      return prefix == null ? 0 : prefix.stateSize();
    }
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
      org.apache.spark.sql.Column when = col(key).equalTo(keyLiteral(e.getKey()));
      expr = expr == null ? functions.when(when, block) : expr.when(when, block);
    }
    // A null time gets block 0, where the segment scan reports it naming the series.
    return functions.coalesce(expr, functions.lit(0L));
  }

  /** A series key (as a collected row gives it) as a literal column: structs field by field, as Spark has no struct literals. */
  static org.apache.spark.sql.Column keyLiteral(Object key) {
    if (key instanceof Row) {
      Row r = (Row) key;
      org.apache.spark.sql.Column[] fields = new org.apache.spark.sql.Column[r.size()];
      for (int i = 0; i < fields.length; i++) {
        fields[i] = keyLiteral(r.get(i)).cast(r.schema().fields()[i].dataType()).as(r.schema().fieldNames()[i]);
      }
      return functions.struct(fields);
    }
    if (key instanceof scala.collection.Seq) {
      scala.collection.Seq<?> seq = (scala.collection.Seq<?>) key;
      org.apache.spark.sql.Column[] items = new org.apache.spark.sql.Column[seq.size()];
      for (int i = 0; i < items.length; i++) {
        items[i] = keyLiteral(seq.apply(i));
      }
      return functions.array(items);
    }
    return functions.lit(key);
  }

  /**
   * @param rows projected rows {@code [key, t, v...]} of the long series only
   * @param extents min time, max time and rows of each long series
   * @param cached receives the cached datasets (blocked rows, each stage's outputs), which the
   *     output reads lazily: the caller releases them
   * @return rows in the internal output layout of {@link SegmentScan}
   */
  static Dataset<Row> scan(SparkSession spark, Dataset<Row> rows, Map<Object, Extent> extents, ScanConfig config,
      long blockRows, int partitions, StructType internalSchema, List<Dataset<Row>> cached) {
    List<Stage> stages = Stage.of(config.model);
    if (stages.size() > 1 && config.emitState) {
      throw new IllegalArgumentException(String.format(
          "withState: expected a model of one stage for series longer than longSeriesRows, got a LayerStack of %d "
              + "stages (its per-row state is only available in the many-series path: raise longSeriesRows)",
          stages.size()));
    }
    String key = rows.columns()[0];
    String t = rows.columns()[1];
    Dataset<Row> current = rows.withColumn(BLOCK, blockOf(key, t, extents, blockRows))
        .repartition(partitions, col(key), col(BLOCK)).sortWithinPartitions(key, BLOCK, t)
        .persist(StorageLevel.MEMORY_AND_DISK());
    cached.add(current);
    Map<Object, List<double[]>> stageEndStates = new HashMap<>();
    for (int s = 0; s < stages.size(); s++) {
      Stage stage = stages.get(s);
      ScanConfig stageConfig = config.withModel(stage.model);
      int width = current.schema().size() - 1; // columns before the block column
      Map<Object, BlockStart> lastStarts = new HashMap<>();
      Map<TwoPass.BlockKey, BlockStart> starts = blockStarts(current, width, stage, stageConfig, stageEndStates, lastStarts);
      boolean lastStage = s == stages.size() - 1;
      if (lastStage && stages.size() > 1) {
        attachStackEndStates(lastStarts, stageEndStates); // before the broadcast ships the starts
      }
      Broadcast<Map<TwoPass.BlockKey, BlockStart>> incoming = spark.sparkContext()
          .broadcast(starts, scala.reflect.ClassTag$.MODULE$.apply(Map.class));
      if (lastStage) {
        long stackFingerprint = config.model.fingerprint();
        MapPartitionsFunction<Row, Row> pass2 = part -> new BlockScan(part, width, stageConfig, incoming,
            stackFingerprint);
        return current.mapPartitions(pass2, Encoders.row(internalSchema));
      }
      // An inner stage's outputs, NaN on missing rows, become the next stage's inputs, block by block.
      StructType stageSchema = new StructType().add(key, rows.schema().apply(key).dataType())
          .add(t, DataTypes.LongType);
      for (int j = 0; j < stage.model.outputs(); j++) {
        stageSchema = stageSchema.add(ScanRows.value(j), DataTypes.DoubleType);
      }
      stageSchema = stageSchema.add(BLOCK, DataTypes.LongType);
      int outputs = stage.model.outputs();
      MapPartitionsFunction<Row, Row> asInputs = part -> {
        BlockScan scan = new BlockScan(part, width, stageConfig, incoming, 0L);
        return new Iterator<Row>() {
          @Override
          public boolean hasNext() {
            return scan.hasNext();
          }

          @Override
          public Row next() {
            Row r = scan.next();
            Object[] values = new Object[3 + outputs];
            for (int j = 0; j < 2 + outputs; j++) {
              values[j] = r.get(j);
            }
            values[2 + outputs] = scan.block(); // the block of the row just emitted
            return RowFactory.create(values);
          }
        };
      };
      Dataset<Row> next = current.mapPartitions(asInputs, Encoders.row(stageSchema))
          .persist(StorageLevel.MEMORY_AND_DISK());
      cached.add(next);
      current = next;
    }
    throw new IllegalStateException("a model has at least one stage");
  }

  /**
   * The incoming state of every block for one stage: the windowed layers' from the halo (a pass
   * that collects each block's last present rows, then a walk that scans them in block order),
   * the recurrent layer's from pass 1 (each block from zero, after the windowed layers from their
   * incoming state) and the carry {@code h_in(b+1) = Ā^{n_b} h_in(b) + e_b}. Also appends each
   * series' end state of this stage to {@code stageEndStates}.
   */
  private static Map<TwoPass.BlockKey, BlockStart> blockStarts(Dataset<Row> current, int width, Stage stage,
      ScanConfig stageConfig, Map<Object, List<double[]>> stageEndStates, Map<Object, BlockStart> lastStarts) {
    Map<TwoPass.BlockKey, double[]> prefixIn = new HashMap<>();
    List<BlockSummary> summaries = null;
    if (stage.window > 0 || stage.recurrent == null) {
      summaries = blockPass(current, width, stageConfig, stage, null, stage.window);
      for (List<BlockSummary> blocks : bySeries(summaries, stageConfig).values()) {
        double[] h = new double[stage.prefixStateSize()];
        for (BlockSummary b : blocks) {
          prefixIn.put(new TwoPass.BlockKey(b.key, b.block), h.clone());
          int n = b.tail.length / stage.prefix.inputs();
          // Scanning the last window present rows from any state leaves the state of the full history.
          stage.prefix.scan(b.tail, 0, new double[n * stage.prefix.outputs()], 0, n, h);
        }
        stageEndStates.computeIfAbsent(SeriesKeys.lookup(blocks.get(0).key), k -> new ArrayList<>()).add(h);
      }
    }
    TwoPass.Chain chain = null;
    if (stage.recurrent != null) {
      summaries = blockPass(current, width, stageConfig, stage, prefixIn, 0);
      List<TwoPass.Block> carries = new ArrayList<>();
      for (BlockSummary s : summaries) {
        carries.add(new TwoPass.Block(s.key, s.block, stage.recurrent.carry(s.steps, s.endFromZero)));
      }
      chain = TwoPass.chain(carries);
    }
    Map<TwoPass.BlockKey, BlockStart> starts = new HashMap<>();
    for (List<BlockSummary> blocks : bySeries(summaries, stageConfig).values()) {
      long position = 0;
      for (int i = 0; i < blocks.size(); i++) {
        BlockSummary s = blocks.get(i);
        TwoPass.BlockKey id = new TwoPass.BlockKey(s.key, s.block);
        double[] prefixState = prefixIn.getOrDefault(id, new double[stage.prefixStateSize()]);
        double[] h = chain == null ? new double[0] : chain.incoming(s.key, s.block);
        double[] in = new double[prefixState.length + h.length];
        System.arraycopy(prefixState, 0, in, 0, prefixState.length);
        System.arraycopy(h, 0, in, prefixState.length, h.length);
        BlockStart start = new BlockStart(in, position, i == blocks.size() - 1);
        starts.put(id, start);
        if (start.lastOfSeries) {
          lastStarts.put(SeriesKeys.lookup(s.key), start);
        }
        position += s.rows;
      }
      if (chain != null) {
        stageEndStates.computeIfAbsent(SeriesKeys.lookup(blocks.get(0).key), k -> new ArrayList<>())
            .add(chain.end(blocks.get(0).key));
      }
    }
    return starts;
  }

  /** Each series' blocks in order, checking that consecutive blocks do not overlap in time. */
  private static Map<Object, List<BlockSummary>> bySeries(List<BlockSummary> summaries, ScanConfig config) {
    Map<Object, List<BlockSummary>> out = TwoPass.bySeries(summaries, s -> s.key, s -> s.block);
    for (List<BlockSummary> blocks : out.values()) {
      for (int i = 1; i < blocks.size(); i++) {
        if (blocks.get(i - 1).lastTime >= blocks.get(i).firstTime) {
          throw new IllegalArgumentException(String.format(
              "column '%s': expected strictly increasing times, got %s twice in series %s (duplicate timestamp)",
              config.timeColumn, config.formatTime(blocks.get(i).firstTime), config.describe(blocks.get(i).key)));
        }
      }
    }
    return out;
  }

  /** The last stage ends each series with the stack's state: every stage's end state, in order. */
  private static void attachStackEndStates(Map<Object, BlockStart> lastStarts,
      Map<Object, List<double[]>> stageEndStates) {
    for (Map.Entry<Object, BlockStart> e : lastStarts.entrySet()) {
      List<double[]> parts = stageEndStates.get(e.getKey());
      int size = 0;
      for (double[] part : parts) {
        size += part.length;
      }
      double[] all = new double[size];
      int at = 0;
      for (double[] part : parts) {
        System.arraycopy(part, 0, all, at, part.length);
        at += part.length;
      }
      e.getValue().stackEndState = all;
    }
  }

  /**
   * One pass over the blocks: per block its extent and steps, its last {@code tailRows} present
   * rows (when {@code tailRows > 0}), and (when {@code prefixIn} is given) the recurrent layer's
   * end state from zero after the windowed layers from their incoming state.
   */
  private static List<BlockSummary> blockPass(Dataset<Row> current, int width, ScanConfig stageConfig, Stage stage,
      Map<TwoPass.BlockKey, double[]> prefixIn, int tailRows) {
    StructType summarySchema = new StructType().add("key", current.schema().apply(0).dataType())
        .add("block", DataTypes.LongType).add("steps", DataTypes.LongType).add("rows", DataTypes.LongType)
        .add("first", DataTypes.LongType).add("last", DataTypes.LongType).add("end", DataTypes.BinaryType)
        .add("tail", DataTypes.createArrayType(DataTypes.DoubleType, false));
    int inputs = stage.model.inputs();
    int prefixSize = stage.prefixStateSize();
    boolean summarize = prefixIn != null;
    Broadcast<Map<TwoPass.BlockKey, double[]>> prefixStates = summarize ? current.sparkSession().sparkContext()
        .broadcast(prefixIn, scala.reflect.ClassTag$.MODULE$.apply(Map.class)) : null;
    MapPartitionsFunction<Row, Row> pass = part -> {
      List<Row> out = new ArrayList<>();
      BlockIterator it = new BlockIterator(part, width);
      while (it.nextBlock()) {
        if (summarize) {
          double[] h = new double[stage.model.stateSize()];
          double[] prefixState = prefixStates.value().get(new TwoPass.BlockKey(it.key, it.block));
          if (prefixState != null) {
            System.arraycopy(prefixState, 0, h, 0, prefixSize);
          }
          SegmentScan scan = new SegmentScan(stageConfig, stageConfig.acquireWorkspace(), it.key,
              SeriesCursor.of(it, stageConfig.layout()), h, 0, Long.MIN_VALUE, false);
          scan.drain();
          it.skipRest();
          double[] end = java.util.Arrays.copyOfRange(scan.state(), prefixSize, h.length);
          // The end state travels as ScanState bytes (position unused here).
          out.add(RowFactory.create(it.key, it.block, scan.stepsTaken(), scan.rowsScanned(), scan.firstTime(),
              scan.lastTime(), ScanState.of(stage.recurrent.fingerprint(), 0, end).toBytes(), null));
        } else {
          out.add(tailOf(it, stageConfig, inputs, tailRows));
        }
      }
      return out.iterator();
    };
    List<BlockSummary> summaries = new ArrayList<>();
    for (Row r : current.mapPartitions(pass, Encoders.row(summarySchema)).collectAsList()) {
      double[] end = r.isNullAt(6) ? null : ScanState.fromBytes((byte[]) r.get(6), stage.recurrent.fingerprint(),
          "pass 1 of the two-pass scan").hidden();
      double[] tail = null;
      if (!r.isNullAt(7)) {
        List<Double> values = r.getList(7);
        tail = new double[values.size()];
        for (int i = 0; i < tail.length; i++) {
          tail[i] = values.get(i);
        }
      }
      summaries.add(new BlockSummary(r.get(0), r.getLong(1), r.getLong(2), r.getLong(3), r.getLong(4), r.getLong(5),
          end, tail));
    }
    if (prefixStates != null) {
      prefixStates.destroy();
    }
    return summaries;
  }

  /** A block's extent and its last {@code tailRows} present rows' inputs (a ring buffer: memory is the halo). */
  private static Row tailOf(BlockIterator it, ScanConfig config, int inputs, int tailRows) {
    double[] ring = new double[Math.max(1, tailRows) * inputs];
    long present = 0;
    long rows = 0;
    long first = 0;
    long last = 0;
    SeriesCursor row = SeriesCursor.of(it, config.layout());
    while (row.nextRow()) {
      long t = SegmentScan.timeOf(row, config, it.key);
      if (rows == 0) {
        first = t;
      }
      last = t;
      rows++;
      boolean missing = false;
      for (int j = 0; j < inputs && !missing; j++) {
        missing = row.valueIsNull(j) || !Double.isFinite(row.value(j));
      }
      if (missing || tailRows == 0) {
        continue;
      }
      int slot = (int) (present % tailRows);
      for (int j = 0; j < inputs; j++) {
        ring[slot * inputs + j] = row.value(j);
      }
      present++;
    }
    int kept = (int) Math.min(present, tailRows);
    double[] tail = new double[kept * inputs];
    for (int i = 0; i < kept; i++) {
      int slot = (int) ((present - kept + i) % tailRows);
      System.arraycopy(ring, slot * inputs, tail, i * inputs, inputs);
    }
    return RowFactory.create(it.key, it.block, present, rows, first, last, null, tail);
  }

  /** Pass 2 over one partition: every block from its incoming state, rows in the internal output layout. */
  private static final class BlockScan implements Iterator<Row> {
    private final BlockIterator it;
    private final ScanConfig stageConfig;
    private final Broadcast<Map<TwoPass.BlockKey, BlockStart>> incoming;
    private final long stackFingerprint;
    private Iterator<Row> current;

    BlockScan(Iterator<Row> part, int width, ScanConfig stageConfig,
        Broadcast<Map<TwoPass.BlockKey, BlockStart>> incoming,
        long stackFingerprint) {
      this.it = new BlockIterator(part, width);
      this.stageConfig = stageConfig;
      this.incoming = incoming;
      this.stackFingerprint = stackFingerprint;
    }

    /** The block being scanned: a segment scan reads rows of its own block only. */
    long block() {
      return it.block;
    }

    @Override
    public boolean hasNext() {
      while (current == null || !current.hasNext()) {
        if (current != null) {
          it.skipRest();
        }
        if (!it.nextBlock()) {
          return false;
        }
        BlockStart start = incoming.value().get(new TwoPass.BlockKey(it.key, it.block));
        ScanRows layout = stageConfig.layout();
        SegmentScan scan = new SegmentScan(stageConfig, stageConfig.acquireWorkspace(), it.key,
            SeriesCursor.of(it, layout), start.incoming.clone(), start.position, Long.MIN_VALUE, start.lastOfSeries);
        if (start.stackEndState != null) {
          scan.reportEndState(stackFingerprint, start.stackEndState);
        }
        current = layout.rows(scan);
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
      return p != null && p.getLong(blockColumn) == block && Objects.deepEquals(p.get(0), key); // binary keys by content
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
