package org.sparkssm.spark.mamba;

import static org.apache.spark.sql.functions.col;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.FlatMapGroupsFunction;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.sparkssm.Checks;
import org.sparkssm.gpu.GpuMode;
import org.sparkssm.mamba.MambaModel;
import org.sparkssm.spark.gpu.TaskGpu;
import org.sparkssm.spark.scan.InputColumns;

/**
 * Scores token sequences with a Mamba / Mamba-2 checkpoint ({@link MambaModel}) inside the executor
 * JVMs. The model is broadcast once (one deserialized copy per executor).
 *
 * <pre>{@code
 * MambaModel model = MambaModel.load(Paths.get("checkpoints/mamba-130m"));
 * // one row per sequence, an array<int|long> column of token ids:
 * Dataset<Row> scored = MambaScore.with(model).tokens("tokens").scoreArrays(df);
 * //   + log_probs: array<double> (log p(token_t | tokens before t), t >= 1), perplexity, embedding
 * // long format, one row per token; a sequence of any length, memory bounded by the chunk:
 * Dataset<Row> perToken = MambaScore.with(model).sequence("doc").position("pos").token("token").scoreTokens(df);
 * Dataset<Row> perDoc   = MambaScore.with(model).sequence("doc").position("pos").token("token").scoreSequences(df);
 * }</pre>
 *
 * <h2>Outputs</h2>
 * {@code log_prob} of a position is {@code log softmax(logits of the position before)[token]}, over
 * the model's padded vocabulary (null for a sequence's first token); {@code perplexity} is
 * {@code exp(-mean log_prob)} over a sequence's scored tokens (null with fewer than two tokens);
 * {@code embedding} is the final-norm hidden state after the last token (an ML vector of
 * {@code d_model}); {@link #withLogits()} adds every position's logits.
 *
 * <h2>Policies</h2>
 * A null or out-of-vocabulary token fails the job naming the column, the sequence and the position;
 * so do a null key or position, and two rows of a sequence at the same position (long format). An
 * empty array gives null log-probs, perplexity and embedding.
 *
 * <h2>GPU executors</h2>
 * With {@code spark.ssm.gpu.enabled} {@code auto} (the default) or {@code true}, a task granted a
 * GPU scores on it ({@link org.sparkssm.gpu.GpuMamba}: float32 weights and activations, one device
 * copy per executor); tasks without a GPU under {@code auto} score on the CPU. See {@link TaskGpu}.
 */
public final class MambaScore {
  private final MambaModel model;
  private String tokens = "tokens";
  private String sequence = "sequence_id";
  private String position = "position";
  private String token = "token";
  private boolean logits;
  private long blockTokens = 16384;
  private int batchTokens = MambaModel.CHUNK;

  private MambaScore(MambaModel model) {
    this.model = Checks.notNull("model", model);
  }

  public static MambaScore with(MambaModel model) {
    return new MambaScore(model);
  }

  /**
   * {@link #scoreArrays}: rows are scored together until their tokens reach this many (default
   * {@link MambaModel#CHUNK}), so short sequences share each pass over the weights ({@link
   * MambaModel#forward(int[][], MambaModel.State[], double[][], double[][])}). 1 scores row by row.
   * The scores do not depend on it.
   */
  public MambaScore batchTokens(int tokens) {
    if (tokens < 1) {
      Checks.fail("batchTokens: expected >= 1, got %d", tokens);
    }
    this.batchTokens = tokens;
    return this;
  }

  /** The array column of {@link #scoreArrays} (default {@code tokens}). */
  public MambaScore tokens(String column) {
    this.tokens = Checks.notNull("tokens", column);
    return this;
  }

  /** The sequence key column of the long format (default {@code sequence_id}). */
  public MambaScore sequence(String column) {
    this.sequence = Checks.notNull("sequence", column);
    return this;
  }

  /** The position column of the long format, ordering a sequence's tokens (default {@code position}). */
  public MambaScore position(String column) {
    this.position = Checks.notNull("position", column);
    return this;
  }

  /** The token id column of the long format (default {@code token}). */
  public MambaScore token(String column) {
    this.token = Checks.notNull("token", column);
    return this;
  }

  /** Rows per block of {@link #scoreAcrossPartitions} (default 16384). */
  public MambaScore blockTokens(long rows) {
    this.blockTokens = Checks.positive("blockTokens", (int) Math.min(Integer.MAX_VALUE, rows));
    return this;
  }

  /**
   * {@link #scoreTokens}'s output ({@code sequence, position, token, log_prob}) for sequences too
   * long for one task: each is cut into blocks of {@link #blockTokens} rows scored on different
   * executors, layer by layer, with the exact carry ({@link MambaLongScore}); equal to the one-shot
   * pass. The blocks' last stage stays cached until {@link LongScore#unpersist()}.
   */
  public LongScore scoreAcrossPartitions(Dataset<Row> df) {
    if (logits) {
      Checks.fail("withLogits: expected scoreTokens or scoreArrays for logits; scoreAcrossPartitions emits log_prob only");
    }
    StructField key = InputColumns.field(df.schema(), sequence, "sequence");
    longFormatChecks(df);
    if (blockTokens < model.config().dConv() - 1) {
      Checks.fail("blockTokens: expected at least d_conv - 1 = %d rows (a block's halo comes from the block before), "
          + "got %d", model.config().dConv() - 1, blockTokens);
    }
    Dataset<Row> rows = longFormatRows(df);
    int partitions = df.sparkSession().sparkContext().defaultParallelism();
    MambaLongScore.Result r = MambaLongScore.score(df.sparkSession(), model, rows,
        new StructType().add(key.name(), key.dataType()), position, token, blockTokens, partitions);
    return new LongScore(r);
  }

  /** The output of {@link #scoreAcrossPartitions} and the cached blocks it reads. */
  public static final class LongScore {
    private final MambaLongScore.Result result;

    LongScore(MambaLongScore.Result result) {
      this.result = result;
    }

    public Dataset<Row> output() {
      return result.output;
    }

    /** Releases the cached blocks once the output is written. */
    public void unpersist() {
      result.unpersist();
    }
  }

  /** Adds the logits: {@code array<array<double>>} per sequence, {@code array<double>} per token. */
  public MambaScore withLogits() {
    this.logits = true;
    return this;
  }

  private static boolean integral(DataType t) {
    return t instanceof IntegerType || t instanceof LongType || t.equals(DataTypes.ShortType)
        || t.equals(DataTypes.ByteType);
  }

  private Broadcast<MambaModel> broadcast(Dataset<Row> df) {
    return df.sparkSession().sparkContext().broadcast(model, scala.reflect.ClassTag$.MODULE$.apply(MambaModel.class));
  }

  /** Every input column plus {@code log_probs, perplexity, embedding} (and {@code logits}). */
  public Dataset<Row> scoreArrays(Dataset<Row> df) {
    DataType type = InputColumns.field(df.schema(), tokens, "tokens").dataType();
    if (!(type instanceof ArrayType) || !integral(((ArrayType) type).elementType())) {
      Checks.fail("tokens column '%s': expected an array of integer token ids, got %s", tokens, type.simpleString());
    }
    StructType out = df.schema().add("log_probs", DataTypes.createArrayType(DataTypes.DoubleType, true), true)
        .add("perplexity", DataTypes.DoubleType, true).add("embedding", SQLDataTypes.VectorType(), true);
    if (logits) {
      out = out.add("logits", DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.DoubleType, false)), true);
    }
    Broadcast<MambaModel> bc = broadcast(df);
    GpuMode gpu = TaskGpu.mode(df.sparkSession());
    int index = df.schema().fieldIndex(tokens);
    String column = tokens;
    boolean withLogits = logits;
    int batchTokens = this.batchTokens;
    return df.mapPartitions((MapPartitionsFunction<Row, Row>) rows -> new ArrayScorer(rows, bc.value(), gpu, index,
        column, withLogits, batchTokens), Encoders.row(out));
  }

  /**
   * The rows of one partition with their scores appended, scored in batches of rows up to {@code
   * batchTokens} tokens (at least one row each) by one batched forward ({@link Scorer#feedAll}).
   */
  private static final class ArrayScorer implements Iterator<Row> {
    private final Iterator<Row> rows;
    private final MambaModel model;
    private final GpuMode gpu;
    private final int index;
    private final String column;
    private final boolean withLogits;
    private final int batchTokens;
    private final MambaModel.State start; // a fresh state, for the token checks' positions
    private final List<Row> ready = new ArrayList<>();
    private int next;

    ArrayScorer(Iterator<Row> rows, MambaModel model, GpuMode gpu, int index, String column, boolean withLogits,
        int batchTokens) {
      this.rows = rows;
      this.model = model;
      this.gpu = gpu;
      this.index = index;
      this.column = column;
      this.withLogits = withLogits;
      this.batchTokens = batchTokens;
      this.start = model.newState();
    }

    @Override
    public boolean hasNext() {
      if (next == ready.size()) {
        ready.clear();
        next = 0;
        scoreBatch();
      }
      return next < ready.size();
    }

    @Override
    public Row next() {
      if (!hasNext()) {
        throw new java.util.NoSuchElementException();
      }
      return ready.get(next++);
    }

    private void scoreBatch() {
      List<Row> in = new ArrayList<>();
      List<int[]> ids = new ArrayList<>();
      long total = 0;
      while (rows.hasNext() && (in.isEmpty() || total < batchTokens)) {
        Row r = rows.next();
        int[] seq = ids(r, index, column);
        try {
          MambaModel.checkForward(model.vocab(), model.dModel(), seq, 0, seq.length, start, null, 0, null, 0);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(String.format("tokens column '%s', row %s: %s", column, r,
              e.getMessage()), e);
        }
        in.add(r);
        ids.add(seq);
        total += seq.length;
      }
      Scorer[] scorers = new Scorer[in.size()];
      for (int s = 0; s < scorers.length; s++) {
        scorers[s] = new Scorer(model, TaskGpu.mamba(gpu, model), withLogits);
      }
      Scorer.feedAll(scorers, ids.toArray(new int[0][]));
      for (int s = 0; s < scorers.length; s++) {
        ready.add(output(in.get(s), ids.get(s).length, scorers[s], withLogits));
      }
    }
  }

  /** The input row with its scores appended. */
  private static Row output(Row r, int length, Scorer s, boolean withLogits) {
    Object[] values = new Object[r.size() + (withLogits ? 4 : 3)];
    for (int i = 0; i < r.size(); i++) {
      values[i] = r.get(i);
    }
    values[r.size()] = length == 0 ? null : seq(s.logProbs());
    values[r.size() + 1] = s.perplexity();
    values[r.size() + 2] = length == 0 ? null : Vectors.dense(s.lastHidden());
    if (withLogits) {
      List<Object> rowsOfLogits = new ArrayList<>();
      for (List<Double> position : s.logits()) {
        rowsOfLogits.add(seq(position));
      }
      values[r.size() + 3] = seq(rowsOfLogits);
    }
    return RowFactory.create(values);
  }

  /** A Java list as the Scala Seq that Spark's row encoder takes for an array column. */
  static <T> scala.collection.Seq<T> seq(List<T> list) {
    return scala.jdk.javaapi.CollectionConverters.asScala(list).toSeq();
  }

  private static int[] ids(Row r, int index, String column) {
    if (r.isNullAt(index)) {
      throw new IllegalArgumentException(String.format("tokens column '%s': expected an array in every row, got null "
          + "in row %s", column, r));
    }
    List<Object> list = r.getList(index);
    int[] ids = new int[list.size()];
    for (int i = 0; i < ids.length; i++) {
      Object v = list.get(i);
      if (v == null) {
        throw new IllegalArgumentException(String.format("tokens column '%s': expected a token id at position %d, "
            + "got null", column, i));
      }
      long id = ((Number) v).longValue();
      ids[i] = id > Integer.MAX_VALUE || id < Integer.MIN_VALUE ? -1 : (int) id;
    }
    return ids;
  }

  /** One row per token: {@code sequence, position, token, log_prob} (and {@code logits}). */
  public Dataset<Row> scoreTokens(Dataset<Row> df) {
    return longFormat(df, false);
  }

  /** One row per sequence: {@code sequence, tokens (count), log_likelihood, perplexity, embedding}. */
  public Dataset<Row> scoreSequences(Dataset<Row> df) {
    return longFormat(df, true);
  }

  private void longFormatChecks(Dataset<Row> df) {
    DataType posType = InputColumns.field(df.schema(), position, "position").dataType();
    DataType tokenType = InputColumns.field(df.schema(), token, "token").dataType();
    if (!integral(posType)) {
      Checks.fail("position column '%s': expected an integer type, got %s", position, posType.simpleString());
    }
    if (!integral(tokenType)) {
      Checks.fail("token column '%s': expected an integer token id, got %s", token, tokenType.simpleString());
    }
  }

  /** {@code [sequence, __pos: long, __token: long]}. */
  private Dataset<Row> longFormatRows(Dataset<Row> df) {
    return df.select(col(sequence), col(position).cast(DataTypes.LongType).as("__pos"),
        col(token).cast(DataTypes.LongType).as("__token"));
  }

  private Dataset<Row> longFormat(Dataset<Row> df, boolean perSequence) {
    StructField key = InputColumns.field(df.schema(), sequence, "sequence");
    longFormatChecks(df);
    Dataset<Row> rows = longFormatRows(df);
    StructType keySchema = new StructType().add(key.name(), key.dataType());
    StructType out;
    if (perSequence) {
      out = new StructType().add(key.name(), key.dataType()).add("tokens", DataTypes.LongType, false)
          .add("log_likelihood", DataTypes.DoubleType, true).add("perplexity", DataTypes.DoubleType, true)
          .add("embedding", SQLDataTypes.VectorType(), true);
    } else {
      out = new StructType().add(key.name(), key.dataType()).add(position, DataTypes.LongType, false)
          .add(token, DataTypes.LongType, false).add("log_prob", DataTypes.DoubleType, true);
      if (logits) {
        out = out.add("logits", DataTypes.createArrayType(DataTypes.DoubleType, false), true);
      }
    }
    Broadcast<MambaModel> bc = broadcast(df);
    LongFormatScorer scorer = new LongFormatScorer(bc, TaskGpu.mode(df.sparkSession()), perSequence, logits, sequence,
        position, token);
    MapFunction<Row, Row> keyOf = r -> RowFactory.create(r.get(0));
    return rows.groupByKey(keyOf, Encoders.row(keySchema)).flatMapSortedGroups(new org.apache.spark.sql.Column[] {
        col("__pos")}, scorer, Encoders.row(out));
  }

  /** Streams one sequence's rows in position order through the model, a chunk at a time. */
  static final class LongFormatScorer implements FlatMapGroupsFunction<Row, Row, Row> {
    private static final long serialVersionUID = 1L;
    private final Broadcast<MambaModel> model;
    private final GpuMode gpu;
    private final boolean perSequence;
    private final boolean withLogits;
    private final String sequenceColumn;
    private final String positionColumn;
    private final String tokenColumn;

    LongFormatScorer(Broadcast<MambaModel> model, GpuMode gpu, boolean perSequence, boolean withLogits,
        String sequenceColumn, String positionColumn, String tokenColumn) {
      this.model = model;
      this.gpu = gpu;
      this.perSequence = perSequence;
      this.withLogits = withLogits;
      this.sequenceColumn = sequenceColumn;
      this.positionColumn = positionColumn;
      this.tokenColumn = tokenColumn;
    }

    @Override
    public Iterator<Row> call(Row key, Iterator<Row> rows) {
      Object seq = key.get(0);
      if (seq == null) {
        throw new IllegalArgumentException("sequence column '" + sequenceColumn + "': expected a key in every row, "
            + "got null");
      }
      MambaModel m = model.value();
      Scorer s = new Scorer(m, TaskGpu.mamba(gpu, m), withLogits && !perSequence);
      int chunk = MambaModel.CHUNK;
      int[] ids = new int[chunk];
      long[] positions = new long[chunk];
      return new Iterator<Row>() {
        private final List<Row> pending = new ArrayList<>();
        private int next;
        private boolean done;
        private long previousPosition = Long.MIN_VALUE;

        @Override
        public boolean hasNext() {
          while (next == pending.size() && !done) {
            pending.clear();
            next = 0;
            fill();
          }
          return next < pending.size();
        }

        @Override
        public Row next() {
          if (!hasNext()) {
            throw new java.util.NoSuchElementException();
          }
          return pending.get(next++);
        }

        private void fill() {
          int n = 0;
          while (n < chunk && rows.hasNext()) {
            Row r = rows.next();
            if (r.isNullAt(1) || r.isNullAt(2)) {
              throw new IllegalArgumentException(String.format("sequence %s: expected a %s and a %s in every row, got "
                  + "null", seq, positionColumn, tokenColumn));
            }
            long pos = r.getLong(1);
            if (pos == previousPosition) {
              throw new IllegalArgumentException(String.format("sequence %s: expected one row per %s, got two at %d",
                  seq, positionColumn, pos));
            }
            previousPosition = pos;
            long id = r.getLong(2);
            if (id < 0 || id >= m.vocab()) {
              throw new IllegalArgumentException(String.format("sequence %s, %s %d: expected a %s in [0, %d), got %d",
                  seq, positionColumn, pos, tokenColumn, m.vocab(), id));
            }
            ids[n] = (int) id;
            positions[n] = pos;
            n++;
          }
          if (n > 0) {
            int before = s.tokens();
            s.feed(ids, 0, n);
            if (!perSequence) {
              for (int i = 0; i < n; i++) {
                double lp = s.logProbAt(before + i);
                Object logProb = Double.isNaN(lp) && before + i == 0 ? null : lp;
                pending.add(withLogits
                    ? RowFactory.create(seq, positions[i], (long) ids[i], logProb, seq(s.chunkLogits(i)))
                    : RowFactory.create(seq, positions[i], (long) ids[i], logProb));
              }
              s.forgetLogProbs();
            }
          }
          if (!rows.hasNext()) {
            done = true;
            if (perSequence) {
              pending.add(RowFactory.create(seq, (long) s.tokens(), s.tokens() < 2 ? null : s.logLikelihood(),
                  s.perplexity(), s.tokens() == 0 ? null : Vectors.dense(s.lastHidden())));
            }
          }
        }
      };
    }
  }
}
