package org.sparkssm.spark.mamba;

import static org.apache.spark.sql.functions.col;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.Optional;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.sparkssm.mamba.MambaModel;
import org.sparkssm.spark.scan.TwoPass;
import org.sparkssm.state.ChunkSummary;
import scala.Tuple2;

/**
 * Scores long token sequences cut into blocks of consecutive rows that are processed on different
 * executors, layer by layer, with the exact carry: the result equals the one-shot forward pass.
 *
 * <h2>How</h2>
 * Rows are sorted by (sequence, position) and numbered; block {@code b} of a sequence holds its rows
 * {@code [b·blockTokens, (b+1)·blockTokens)}. Each block keeps its residual stream and hidden
 * states ({@code blockTokens × d_model} each, Java-serialized in memory and on disk between layers).
 * Per layer, in two parallel passes over the blocks:
 * <ol>
 *   <li>every block receives its halo, the last {@code d_conv - 1} normed rows of the block before
 *       (so its convolution starts where the previous block's ends), and computes its SSM summary
 *       (decay product and end state from zero, {@link ChunkSummary});</li>
 *   <li>the driver chains the summaries of each sequence in block order into every block's incoming
 *       SSM state ({@link TwoPass}, the same chain as the long-series scan: a pass over summaries,
 *       not rows), broadcasts them, and every block runs the layer from its incoming convolution
 *       and SSM states.</li>
 * </ol>
 * After the last layer each block gets the final hidden row of the block before (for its first
 * token's log-probability) and emits one row per token: {@code sequence, position, token, log_prob}.
 *
 * <p>Costs: the layer's projections run twice per layer (pass 1 and 2); the driver holds one
 * summary ({@code 2 × state} doubles: d_inner·d_state for Mamba, heads·headdim·d_state for
 * Mamba-2) per block per layer while it chains them, so choose {@code blockTokens} so that
 * {@code blocks × 2 × state} doubles fit the driver, and {@code blockTokens × d_model × 8 × 4} bytes
 * fit a task. For many shorter sequences, {@link MambaScore#scoreTokens} streams each one in a
 * single task, which needs no second pass.
 */
final class MambaLongScore {
  private MambaLongScore() {}

  /** One block of a sequence: its rows' positions and tokens, and the residual stream and hidden state so far. */
  static final class Block implements Serializable {
    private static final long serialVersionUID = 1L;
    final int sequence; // index into the driver's list of sequences
    final long block;
    final long[] positions;
    final int[] tokens;
    final double[] residual;
    final double[] hidden;

    Block(int sequence, long block, long[] positions, int[] tokens, double[] residual, double[] hidden) {
      this.sequence = sequence;
      this.block = block;
      this.positions = positions;
      this.tokens = tokens;
      this.residual = residual;
      this.hidden = hidden;
    }

    int rows() {
      return tokens.length;
    }

    Tuple2<Integer, Long> key() {
      return new Tuple2<>(sequence, block);
    }
  }

  /** The per-token output and the cached blocks behind it. */
  static final class Result {
    final Dataset<Row> output;
    private final JavaRDD<Block> cached;

    Result(Dataset<Row> output, JavaRDD<Block> cached) {
      this.output = output;
      this.cached = cached;
    }

    void unpersist() {
      cached.unpersist(false);
    }
  }

  static Result score(SparkSession spark, MambaModel model, Dataset<Row> rows, StructType keyField,
      String positionColumn, String tokenColumn, long blockTokens, int partitions) {
    // The sequences in sort order, their sizes and first global row numbers.
    String key = keyField.fieldNames()[0];
    List<Row> counts = rows.groupBy(col(key)).count().orderBy(col(key)).collectAsList();
    Map<Object, Integer> index = new HashMap<>();
    List<Object> keys = new ArrayList<>();
    long[] start = new long[counts.size()];
    long total = 0;
    for (int i = 0; i < counts.size(); i++) {
      Object k = counts.get(i).get(0);
      if (k == null) {
        throw new IllegalArgumentException("sequence column '" + key + "': expected a key in every row, got null");
      }
      index.put(k, i);
      keys.add(k);
      start[i] = total;
      total += counts.get(i).getLong(1);
    }
    Broadcast<MambaModel> bm = spark.sparkContext().broadcast(model, scala.reflect.ClassTag$.MODULE$.apply(
        MambaModel.class));
    Broadcast<Map<Object, Integer>> bIndex = spark.sparkContext().broadcast(index,
        scala.reflect.ClassTag$.MODULE$.apply(Map.class));
    HashPartitioner byBlock = new HashPartitioner(partitions);

    // Global row numbers in (sequence, position) order, then blocks of blockTokens rows.
    JavaPairRDD<Row, Long> numbered = rows.orderBy(col(key), col("__pos")).javaRDD().zipWithIndex();
    JavaPairRDD<Tuple2<Integer, Long>, long[]> keyed = numbered.mapToPair(t -> {
      Row r = t._1();
      int seq = bIndex.value().get(r.get(0));
      long offset = t._2() - start[seq];
      if (r.isNullAt(1) || r.isNullAt(2)) {
        throw new IllegalArgumentException(String.format("sequence %s: expected a %s and a %s in every row, got null",
            r.get(0), positionColumn, tokenColumn));
      }
      return new Tuple2<>(new Tuple2<>(seq, offset / blockTokens), new long[] {offset, r.getLong(1), r.getLong(2)});
    });
    JavaRDD<Block> blocks = keyed.groupByKey(byBlock).map(g -> {
      List<long[]> list = new ArrayList<>();
      g._2().forEach(list::add);
      list.sort((a, b) -> Long.compare(a[0], b[0]));
      int n = list.size();
      long[] positions = new long[n];
      int[] tokens = new int[n];
      MambaModel m = bm.value();
      for (int i = 0; i < n; i++) {
        positions[i] = list.get(i)[1];
        long id = list.get(i)[2];
        if (i > 0 && positions[i] == positions[i - 1]) {
          throw new IllegalArgumentException(String.format("sequence %s: expected one row per %s, got two at %d",
              keys.get(g._1()._1()), positionColumn, positions[i]));
        }
        if (id < 0 || id >= m.vocab()) {
          throw new IllegalArgumentException(String.format("sequence %s, %s %d: expected a %s in [0, %d), got %d",
              keys.get(g._1()._1()), positionColumn, positions[i], tokenColumn, m.vocab(), id));
        }
        tokens[i] = (int) id;
      }
      double[] hidden = new double[n * m.dModel()];
      m.embed(tokens, 0, n, hidden);
      return new Block(g._1()._1(), g._1()._2(), positions, tokens, new double[n * m.dModel()], hidden);
    }).persist(StorageLevel.MEMORY_AND_DISK_SER());
    try {
      for (int layer = 0; layer < model.layers(); layer++) {
        JavaRDD<Block> next = layer(spark, bm, blocks, layer, byBlock).persist(StorageLevel.MEMORY_AND_DISK_SER());
        next.count(); // materialize before the previous stage is released
        blocks.unpersist(false);
        blocks = next;
      }
    } catch (RuntimeException e) {
      blocks.unpersist(false);
      throw e;
    }
    StructType schema = new StructType().add(keyField.fields()[0]).add(positionColumn, DataTypes.LongType, false)
        .add(tokenColumn, DataTypes.LongType, false).add("log_prob", DataTypes.DoubleType, true);
    // The last stage stays cached: the output is lazy and reads it (Result.unpersist releases it).
    return new Result(spark.createDataFrame(emit(bm, blocks, keys, byBlock), schema), blocks);
  }

  /** The last {@code rows} rows of {@code values} ({@code width} each). */
  private static double[] tail(double[] values, int total, int rows, int width) {
    double[] out = new double[rows * width];
    System.arraycopy(values, (total - rows) * width, out, 0, rows * width);
    return out;
  }

  /** Each block with its halo: the last d_conv - 1 normed rows of the block before (absent for a first block). */
  private static JavaPairRDD<Tuple2<Integer, Long>, Tuple2<Block, Optional<double[]>>> withHalo(
      Broadcast<MambaModel> bm, JavaRDD<Block> blocks, int layer, HashPartitioner byBlock) {
    JavaPairRDD<Tuple2<Integer, Long>, double[]> tails = blocks.mapToPair(b -> {
      MambaModel m = bm.value();
      int dm = m.dModel();
      int rows = Math.min(b.rows(), m.config().dConv() - 1);
      double[] res = tail(b.residual, b.rows(), rows, dm);
      double[] hid = tail(b.hidden, b.rows(), rows, dm);
      double[] normed = new double[rows * dm];
      m.layerInput(layer, res, hid, rows, normed);
      return new Tuple2<>(new Tuple2<>(b.sequence, b.block + 1), normed);
    });
    return blocks.mapToPair(b -> new Tuple2<>(b.key(), b)).leftOuterJoin(tails, byBlock);
  }

  private static double[] convState(MambaModel m, int layer, Optional<double[]> halo) {
    if (!halo.isPresent()) {
      return m.convStateAfter(layer, new double[0], 0);
    }
    double[] rows = halo.get();
    return m.convStateAfter(layer, rows, rows.length / m.dModel());
  }

  private static JavaRDD<Block> layer(SparkSession spark, Broadcast<MambaModel> bm, JavaRDD<Block> blocks, int layer,
      HashPartitioner byBlock) {
    JavaPairRDD<Tuple2<Integer, Long>, Tuple2<Block, Optional<double[]>>> withHalo = withHalo(bm, blocks, layer,
        byBlock);
    // Pass 1: every block's SSM summary, chained per sequence on the driver into incoming states.
    List<Tuple2<Tuple2<Integer, Long>, ChunkSummary>> summaries = withHalo.mapValues(v -> {
      MambaModel m = bm.value();
      Block b = v._1();
      double[] normed = new double[b.rows() * m.dModel()];
      m.layerInput(layer, b.residual, b.hidden, b.rows(), normed);
      return m.summarizeLayer(layer, normed, b.rows(), convState(m, layer, v._2()));
    }).collect();
    List<TwoPass.Block> carries = new ArrayList<>(summaries.size());
    for (Tuple2<Tuple2<Integer, Long>, ChunkSummary> s : summaries) {
      carries.add(new TwoPass.Block(s._1()._1(), s._1()._2(), s._2()));
    }
    Map<TwoPass.BlockKey, double[]> incoming = TwoPass.chain(carries).incomingStates();
    Broadcast<Map<TwoPass.BlockKey, double[]>> bIncoming = spark.sparkContext().broadcast(incoming,
        scala.reflect.ClassTag$.MODULE$.apply(Map.class));
    // Pass 2: the layer from each block's incoming states.
    return withHalo.map(kv -> {
      MambaModel m = bm.value();
      Block b = kv._2()._1();
      int dm = m.dModel();
      double[] residual = new double[b.rows() * dm];
      for (int k = 0; k < residual.length; k++) {
        residual[k] = b.residual[k] + b.hidden[k];
      }
      double[] normed = new double[b.rows() * dm];
      m.layerInput(layer, b.residual, b.hidden, b.rows(), normed);
      double[] hidden = new double[b.rows() * dm];
      double[] ssm = bIncoming.value().get(new TwoPass.BlockKey(b.sequence, b.block)).clone();
      m.mixLayer(layer, normed, b.rows(), convState(m, layer, kv._2()._2()), ssm, hidden);
      return new Block(b.sequence, b.block, b.positions, b.tokens, residual, hidden);
    });
  }

  /** One row per token: the log-probability from the previous position's logits (the block before's last for the first). */
  private static JavaRDD<Row> emit(Broadcast<MambaModel> bm, JavaRDD<Block> blocks, List<Object> keys,
      HashPartitioner byBlock) {
    JavaPairRDD<Tuple2<Integer, Long>, double[]> lastLogits = blocks.mapToPair(b -> {
      MambaModel m = bm.value();
      int dm = m.dModel();
      double[] logits = new double[m.vocab()];
      m.head(tail(b.residual, b.rows(), 1, dm), tail(b.hidden, b.rows(), 1, dm), 1, new double[dm], logits);
      return new Tuple2<>(new Tuple2<>(b.sequence, b.block + 1), logits);
    });
    return blocks.mapToPair(b -> new Tuple2<>(b.key(), b)).leftOuterJoin(lastLogits, byBlock).flatMap(kv -> {
      MambaModel m = bm.value();
      Block b = kv._2()._1();
      int n = b.rows();
      int v = m.vocab();
      double[] logits = new double[n * v];
      m.head(b.residual, b.hidden, n, new double[n * m.dModel()], logits);
      List<Row> out = new ArrayList<>(n);
      Object seq = keys.get(b.sequence);
      for (int t = 0; t < n; t++) {
        Double logProb;
        if (t > 0) {
          logProb = logSoftmaxAt(logits, (t - 1) * v, v, b.tokens[t]);
        } else if (kv._2()._2().isPresent()) {
          logProb = logSoftmaxAt(kv._2()._2().get(), 0, v, b.tokens[0]);
        } else {
          logProb = null; // the sequence's first token
        }
        out.add(RowFactory.create(seq, b.positions[t], (long) b.tokens[t], logProb));
      }
      return out.iterator();
    });
  }

  /** {@code log softmax(logits[off .. off + vocab))[token]}, shifted by the max for stability. */
  static double logSoftmaxAt(double[] logits, int off, int vocab, int token) {
    double max = Double.NEGATIVE_INFINITY;
    for (int k = 0; k < vocab; k++) {
      max = Math.max(max, logits[off + k]);
    }
    double sum = 0;
    for (int k = 0; k < vocab; k++) {
      sum += Math.exp(logits[off + k] - max);
    }
    return logits[off + token] - max - Math.log(sum);
  }
}
