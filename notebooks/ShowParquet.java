// Prints the schema, row count and first rows of Parquet tables, read with Spark in local mode.
// The notebooks run it on the jobs jar's class path (Python here has no Parquet reader):
//   java <jvm.flags> -cp <jobs jar>:<spark.classpath> notebooks/ShowParquet.java [--rows N] DIR...
// Spark's log goes to stderr; the tables go to stdout.
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

public class ShowParquet {
  public static void main(String[] args) {
    int rows = 10;
    int first = 0;
    if (args.length >= 2 && args[0].equals("--rows")) {
      rows = Integer.parseInt(args[1]);
      first = 2;
    }
    if (first >= args.length) {
      System.err.println("usage: ShowParquet [--rows N] DIR...");
      System.exit(2);
    }
    SparkSession spark = SparkSession.builder().master("local[1]").appName("show-parquet")
        .config("spark.ui.enabled", "false").getOrCreate();
    try {
      for (int i = first; i < args.length; i++) {
        Dataset<Row> df = spark.read().parquet(args[i]);
        String[] cols = df.columns();
        // Sorted on the leading columns, so the rows shown are the same run to run.
        Dataset<Row> sorted = df.sort(cols[0], java.util.Arrays.copyOfRange(cols, 1, Math.min(2, cols.length)));
        System.out.println("== " + args[i] + ": " + df.count() + " rows");
        df.printSchema();
        sorted.show(rows, false);
      }
    } finally {
      spark.stop();
    }
  }
}
