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

  @Test
  void csvOutputsHoldArraysVectorsAndBinaryAsText() {
    SparkSession spark = JobsTests.session();
    Dataset<Row> df = spark.range(2).selectExpr("id", "array(id * 0.5, 1.0) AS a", "unhex('0A0B') AS b",
        "named_struct('x', id) AS s");
    df = df.withColumn("v", org.apache.spark.ml.functions.array_to_vector(org.apache.spark.sql.functions.col("a")));
    String uri = dir.resolve("cells").toString();
    Tables.write(df, uri, DataFormat.CSV);
    Row r = Tables.read(spark, uri, DataFormat.CSV).orderBy("id").collectAsList().get(1);
    assertEquals("[0.5, 1.0]", r.getString(r.fieldIndex("a")));
    assertEquals("[0.5, 1.0]", r.getString(r.fieldIndex("v")));
    assertEquals("Cgs=", r.getString(r.fieldIndex("b")));
    assertEquals("{\"x\":1}", r.getString(r.fieldIndex("s")));
  }
}
