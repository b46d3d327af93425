package org.sparkssm.spark.sql;

import java.io.IOException;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkEnv;
import org.apache.spark.sql.api.java.UDF2;
import org.sparkssm.spark.ml.ForecasterFiles;
import scala.Tuple2;
import scala.collection.Seq;

/**
 * {@code ssm_forecast(model_path string, history array<double>) -> array<double>}: the H point
 * forecasts of the {@link org.sparkssm.spark.ml.SsmForecasterModel} saved at {@code model_path}
 * (by {@code save} or the forecast job's {@code --model-out}) after {@code history}, the series'
 * consecutive steps, oldest first. The numbers are the stage's {@code transform} for a series with
 * these steps; interval columns are not given.
 *
 * <p>Missing values follow the model's policy: null, NaN and ±∞ elements are missing steps, filled
 * by the model's fitted {@code fill} and {@code maxGap}; the window is the last L steps (4 L for
 * {@code ssm}). A history shorter than that, or one whose window still has a missing step, gets
 * null, as the stage gives such a series no rows. A null history gets null; a null path or one
 * that holds no such model fails naming the function, the argument and the path.
 *
 * <p>A model is read once per JVM and path (a task on each executor reads it, without Spark, by
 * {@link ForecasterFiles}) and kept for the JVM's life: a model saved again over the same path is
 * not seen until the JVM restarts. Files are read with a fresh Hadoop {@link Configuration} (the
 * {@code *-site.xml} on the classpath) plus the application's {@code spark.hadoop.*} settings,
 * which executors have in their SparkConf; settings made at run time on
 * {@code sparkContext.hadoopConfiguration()} are not seen.
 *
 * <pre>{@code SELECT unique_id, ssm_forecast('/models/hourly', history) FROM last_windows}</pre>
 */
public final class SsmForecastUdf implements UDF2<String, Seq<Object>, double[]> {
  private static final long serialVersionUID = 1L;

  private static final ConcurrentHashMap<String, ForecasterFiles> MODELS = new ConcurrentHashMap<>();

  public SsmForecastUdf() {}

  @Override
  public double[] call(String modelPath, Seq<Object> history) {
    if (modelPath == null) {
      throw new IllegalArgumentException("ssm_forecast: argument 'model_path': expected the path of a saved "
          + "SsmForecasterModel, got null");
    }
    ForecasterFiles model = MODELS.computeIfAbsent(modelPath, SsmForecastUdf::read);
    if (history == null) {
      return null;
    }
    return model.forecast(SqlArrays.toDoubles(history));
  }

  /** A failed read is not cached: the next call tries again. */
  private static ForecasterFiles read(String path) {
    try {
      return ForecasterFiles.read(path, hadoopConf());
    } catch (IOException | RuntimeException e) {
      String why = String.valueOf(e.getMessage()).replaceAll("\\s*\\R\\s*", " ");
      // The reader's messages name the path already; others (a file system's) may not.
      throw new IllegalArgumentException("ssm_forecast: argument 'model_path': "
          + (why.contains(path) ? why : "'" + path + "': " + why), e);
    }
  }

  private static Configuration hadoopConf() {
    Configuration conf = new Configuration();
    SparkEnv env = SparkEnv.get();
    if (env != null) {
      for (Tuple2<String, String> kv : env.conf().getAll()) {
        if (kv._1().startsWith("spark.hadoop.")) {
          conf.set(kv._1().substring("spark.hadoop.".length()), kv._2());
        }
      }
    }
    return conf;
  }
}
