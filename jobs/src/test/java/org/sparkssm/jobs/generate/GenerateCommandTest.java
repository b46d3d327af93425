package org.sparkssm.jobs.generate;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.jobs.JobsTests;
import org.sparkssm.jobs.JobsTests.Run;
import org.sparkssm.jobs.cli.Tables;

class GenerateCommandTest {
  private static SparkSession spark;

  @TempDir
  Path dir;

  @BeforeAll
  static void start() {
    spark = JobsTests.session();
  }

  private Dataset<Row> generate(String name, String... args) {
    String out = dir.resolve(name).toString();
    String[] all = new String[args.length + 3];
    all[0] = "generate";
    all[1] = "--out";
    all[2] = out;
    System.arraycopy(args, 0, all, 3, args.length);
    Run r = JobsTests.run(all);
    assertEquals(0, r.code(), r::err);
    return Tables.read(spark, out, null);
  }

  private static List<Row> sorted(Dataset<Row> df) {
    return df.orderBy("unique_id", "ds").collectAsList();
  }

  @Test
  void theSameSeedGivesTheSameRowsWhateverThePartitioning() {
    String[] args = {"--series", "7", "--length", "50", "--seed", "11"};
    List<Row> one = sorted(generate("p1", concat(args, "--partitions", "1")));
    List<Row> three = sorted(generate("p3", concat(args, "--partitions", "3")));
    assertEquals(7 * 50, one.size());
    assertEquals(one, three);
    List<Row> otherSeed = sorted(generate("seed12", "--series", "7", "--length", "50", "--seed", "12"));
    assertNotEquals(one.get(0).getDouble(2), otherSeed.get(0).getDouble(2));
  }

  @Test
  void theLongFormatHasTheRequestedShape() {
    Dataset<Row> df = generate("shape", "--series", "3", "--length", "5", "--freq", "15min", "--start", "2024-03-01",
        "--series-col", "id", "--time-col", "t", "--value-col", "v", "--channels", "3");
    assertEquals(Arrays.asList("id", "t", "v", "v_1", "v_2"), Arrays.asList(df.columns()));
    assertEquals(DataTypes.TimestampType, df.schema().apply("t").dataType());
    List<Row> rows = df.orderBy("id", "t").collectAsList();
    assertEquals(15, rows.size());
    assertEquals("S0", rows.get(0).getString(0));
    assertEquals("S2", rows.get(14).getString(0));
    assertEquals(1709251200L,
        rows.get(0).getTimestamp(1).toInstant().getEpochSecond());
    assertEquals(15 * 60, rows.get(1).getTimestamp(1).toInstant().getEpochSecond()
        - rows.get(0).getTimestamp(1).toInstant().getEpochSecond());
    assertNotEquals(rows.get(0).getDouble(2), rows.get(0).getDouble(3));
  }

  @Test
  void irregularDropsRowsAndKeepsTheOthersUnchanged() {
    List<Row> regular = sorted(generate("regular", "--series", "4", "--length", "200"));
    Dataset<Row> irregular = generate("irregular", "--series", "4", "--length", "200", "--irregular", "0.25");
    long kept = irregular.count();
    assertTrue(kept > 500 && kept < 700, "kept " + kept);
    Dataset<Row> reg = Tables.read(spark, dir.resolve("regular").toString(), null);
    assertEquals(0, irregular.except(reg).count());
    assertEquals(800, regular.size());
    // A gap of more than one step exists in every series.
    long withGaps = irregular.groupBy("unique_id").count().filter(col("count").lt(200)).count();
    assertEquals(4, withGaps);
  }

  @Test
  void csvOutputReadsBackWithTypes() {
    Dataset<Row> csv = generate("panel-csv", "--series", "2", "--length", "30", "--format", "csv");
    assertTrue(Files.isDirectory(dir.resolve("panel-csv")));
    assertEquals(DataTypes.TimestampType, csv.schema().apply("ds").dataType());
    assertEquals(DataTypes.DoubleType, csv.schema().apply("y").dataType());
    Dataset<Row> parquet = generate("panel-parquet", "--series", "2", "--length", "30");
    assertEquals(0, csv.except(parquet).count());
  }

  @Test
  void theCommittedSampleIsWhatItsCommandMakes() throws Exception {
    Path sample = Path.of("..", "data-samples", "hourly-20x720");
    assertTrue(Files.isDirectory(sample), "missing " + sample.toAbsolutePath());
    String readme = Files.readString(Path.of("..", "data-samples", "README.md"));
    String command = readme.lines().filter(l -> l.startsWith("bin/spark-ssm generate")).findFirst().orElseThrow();
    String[] words = command.substring("bin/spark-ssm ".length()).split("\\s+");
    String[] args = new String[words.length];
    for (int i = 0; i < words.length; i++) {
      args[i] = words[i].equals("data-samples/hourly-20x720") ? dir.resolve("again").toString() : words[i];
    }
    Run r = JobsTests.run(args);
    assertEquals(0, r.code(), r::err);
    Dataset<Row> committed = Tables.read(spark, sample.toString(), null);
    Dataset<Row> again = Tables.read(spark, dir.resolve("again").toString(), null);
    assertEquals(20 * 720, committed.count());
    assertEquals(sorted(committed), sorted(again));
  }

  @Test
  void anExistingOutputFailsUnlessOverwritten() {
    generate("twice", "--series", "1", "--length", "3");
    String out = dir.resolve("twice").toString();
    Run again = JobsTests.run("generate", "--out", out, "--series", "1", "--length", "3");
    assertEquals(1, again.code());
    assertTrue(again.err().contains("output '" + out + "'") && again.err().contains("--overwrite"), again.err());
    assertEquals(1, again.err().strip().lines().count(), again.err());
    Run overwrite = JobsTests.run("generate", "--out", out, "--series", "2", "--length", "3", "--overwrite");
    assertEquals(0, overwrite.code(), overwrite::err);
    assertEquals(6, Tables.read(spark, out, null).count());
  }

  private static String[] concat(String[] a, String... b) {
    String[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
