package org.sparkssm.jobs.score;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.sparkssm.jobs.cli.DataFormat;
import org.sparkssm.jobs.cli.OutputCommit;
import org.sparkssm.jobs.cli.OutputFormatOption;
import org.sparkssm.jobs.cli.OutputOptions;
import org.sparkssm.jobs.cli.SparkCommand;
import org.sparkssm.jobs.cli.Tables;
import org.sparkssm.mamba.MambaModel;
import org.sparkssm.nn.Precision;
import org.sparkssm.spark.mamba.MambaScore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code score}: token sequences through a Mamba / Mamba-2 checkpoint ({@link MambaScore}), written as Parquet. */
@Command(name = "score", sortOptions = false, usageHelpAutoWidth = true,
    description = {
        "Scores token sequences with a Mamba or Mamba-2 checkpoint trained elsewhere (a mamba_ssm directory: "
            + "config.json + model.safetensors), in the executors: the log-probability of every token given the ones "
            + "before it, each sequence's perplexity, and its final hidden state as an embedding. Input: one row per "
            + "sequence with an array column of token ids (--tokens-col), or one row per token (sequence, position, "
            + "token columns), where a sequence of any length streams through the model chunk by chunk.",
        ""},
    footer = {"", "Examples:",
        "  spark-ssm score -i data-samples/tokens-4x300.csv -o /tmp/ppl \\",
        "      --checkpoint spark-ssm/src/test/resources/golden/mamba/mamba1",
        "  spark-ssm score --checkpoint ckpt/mamba2-130m -i hdfs:///docs \\",
        "      -o hdfs:///out/tok --sequence-col doc --position-col pos \\",
        "      --token-col id --per token",
        "  spark-ssm score --checkpoint ckpt/mamba-130m -i prompts.parquet \\",
        "      -o out --tokens-col input_ids"})
public final class ScoreCommand extends SparkCommand {
  /** What one output row describes. */
  enum Per {
    sequence, token
  }

  @Option(names = "--checkpoint", required = true, paramLabel = "DIR",
      description = "Checkpoint directory on the driver's file system: config.json and model.safetensors.")
  private Path checkpoint;

  @Option(names = {"-i", "--input"}, required = true, paramLabel = "URI",
      description = "Input table: Parquet or CSV with a header, by URI (file:, hdfs: or a plain path).")
  private String input;

  @Option(names = "--format", paramLabel = "FORMAT", description = "Input format, parquet or csv (default: from the name).")
  private DataFormat format;

  @Option(names = {"-o", "--out", "--output"}, required = true, paramLabel = "URI", description = "Output folder (Parquet).")
  private String out;

  @Mixin
  private OutputOptions output;

  @Mixin
  private OutputFormatOption outFormat;

  @Option(names = "--tokens-col", paramLabel = "NAME",
      description = "Array input: the column of token-id arrays (one row per sequence; the other columns are kept).")
  private String tokensColumn;

  @Option(names = "--sequence-col", paramLabel = "NAME", defaultValue = "sequence_id",
      description = "Long input: the sequence key column (default: ${DEFAULT-VALUE}).")
  private String sequenceColumn;

  @Option(names = "--position-col", paramLabel = "NAME", defaultValue = "position",
      description = "Long input: the column ordering a sequence's tokens (default: ${DEFAULT-VALUE}).")
  private String positionColumn;

  @Option(names = "--token-col", paramLabel = "NAME", defaultValue = "token",
      description = "Long input: the token id column (default: ${DEFAULT-VALUE}).")
  private String tokenColumn;

  @Option(names = "--per", paramLabel = "ROW", defaultValue = "sequence",
      description = "Long input: one output row per sequence (perplexity, embedding) or per token (log_prob) "
          + "(default: ${DEFAULT-VALUE}).")
  private Per per;

  @Option(names = "--block-tokens", paramLabel = "ROWS",
      description = "Long input, --per token: cut each sequence into blocks of this many rows scored on different "
          + "executors, layer by layer with the exact carry (for sequences too long for one task).")
  private Long blockTokens;

  @Option(names = "--embedding", paramLabel = "TYPE", defaultValue = "vector",
      description = "Type of the embedding column: vector (Spark ML's vector, for MLlib) or array (a plain "
          + "array<double>, for SQL and other readers) (default: ${DEFAULT-VALUE}).")
  private EmbeddingType embedding;

  /** How the embedding column is written. */
  enum EmbeddingType {
    vector, array
  }

  @Option(names = "--precision", paramLabel = "MODE", defaultValue = "float64",
      description = "float64 (the exactness-tested default), float32 (projections and the scan in float32: about "
          + "twice the vector lanes; logits within about 1e-5 of float64's, relative to their scale) or "
          + "float32-state64 (float32 projections, the scan and its state in float64) (default: ${DEFAULT-VALUE}).")
  private String precision;

  @Option(names = "--with-logits", description = "Also output the logits of every position (large: vocab doubles each).")
  private boolean withLogits;

  private MambaModel model;

  @Override
  protected void validate() {
    if (blockTokens != null && (tokensColumn != null || per != Per.token || withLogits)) {
      throw usageError("--block-tokens: expected long input with --per token and no --with-logits");
    }
    // A bad checkpoint is bad input, not a bad command line: one line (exit 1), no usage text, and
    // found before Spark starts.
    for (String f : new String[] {"config.json", "model.safetensors"}) {
      if (!Files.isRegularFile(checkpoint.resolve(f))) {
        throw new IllegalArgumentException(String.format("--checkpoint: expected a directory with config.json and "
            + "model.safetensors, got no %s in %s", f, checkpoint));
      }
    }
    Precision mode = Precision.parse("--precision", precision);
    try {
      model = MambaModel.load(checkpoint, mode);
    } catch (IOException | IllegalArgumentException e) {
      // Not chained: the one-line report prints the deepest cause, which would drop the option's name.
      throw new IllegalArgumentException("--checkpoint: " + e.getMessage());
    }
  }

  @Override
  protected int run(SparkSession spark) {
    try (OutputCommit commit = output.begin(spark, this::notice, out)) {
      String done = score(spark, commit.staged(out));
      commit.publish();
      summary("%s", done);
    }
    return 0;
  }

  /** Scores into {@code staged}; returns the summary line. */
  private String score(SparkSession spark, String staged) {
    phase("scoring %s", input);
    Dataset<Row> table = Tables.read(spark, input, format);
    MambaScore score = MambaScore.with(model);
    if (withLogits) {
      score.withLogits();
    }
    Dataset<Row> scored;
    if (tokensColumn != null) {
      scored = score.tokens(tokensColumn).scoreArrays(table);
    } else {
      score.sequence(sequenceColumn).position(positionColumn).token(tokenColumn);
      if (blockTokens != null) {
        MambaScore.LongScore blocks = score.blockTokens(blockTokens).scoreAcrossPartitions(table);
        try {
          Tables.write(blocks.output(), staged, outFormat.format());
        } finally {
          blocks.unpersist();
        }
        return String.format(Locale.ROOT, "score: %s across partitions, blocks of %d tokens, over %s -> %s",
            checkpoint.getFileName(), blockTokens, input, out);
      }
      scored = per == Per.token ? score.scoreTokens(table) : score.scoreSequences(table);
    }
    if (embedding == EmbeddingType.array && java.util.Arrays.asList(scored.columns()).contains("embedding")) {
      scored = scored.withColumn("embedding", org.apache.spark.ml.functions.vector_to_array(
          org.apache.spark.sql.functions.col("embedding"), "float64"));
    }
    Tables.write(scored, staged, outFormat.format());
    return String.format(Locale.ROOT, "score: %s (%s, %d layers, d_model %d, %s) over %s -> %s",
        checkpoint.getFileName(), model.config().layer(), model.config().nLayer(), model.dModel(), model.precision(),
        input, out);
  }
}
