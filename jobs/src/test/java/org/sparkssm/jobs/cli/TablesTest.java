package org.sparkssm.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.jobs.JobsTests;

class TablesTest {
  @TempDir
  Path dir;

  @Test
  void theFormatComesFromTheNameOrTheFolderContents() throws Exception {
    SparkSession spark = JobsTests.session();
    Dataset<Row> df = spark.range(3).selectExpr("id", "id * 0.5 AS y");
    Tables.write(df, dir.resolve("csv-folder").toString(), DataFormat.CSV);
    Tables.write(df, dir.resolve("pq").toString(), DataFormat.PARQUET);
    Path file = dir.resolve("plain.csv");
    Files.writeString(file, "id,y\n1,0.5\n2,1.0\n");
    assertEquals(3, Tables.read(spark, dir.resolve("csv-folder").toString(), null).count());
    assertEquals(3, Tables.read(spark, "file:" + dir.resolve("pq"), null).count());
    assertEquals(2, Tables.read(spark, file.toString(), null).count());
    assertEquals("double", Tables.read(spark, file.toString(), null).schema().apply("y").dataType().typeName());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Tables.read(spark, dir.resolve("nothing").toString(), null));
    assertTrue(e.getMessage().startsWith("input '") && e.getMessage().contains("nothing"), e.getMessage());
  }
}
