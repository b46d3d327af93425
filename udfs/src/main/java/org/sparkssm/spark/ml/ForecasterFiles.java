package org.sparkssm.spark.ml;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.example.GroupReadSupport;
import org.apache.parquet.schema.GroupType;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.expressions.GenericRowWithSchema;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.sparkssm.forecast.LinearForecaster;
import org.sparkssm.spark.forecast.TimeGrid;

/**
 * A saved {@link SsmForecasterModel}'s forecaster, read with a Hadoop {@link FileSystem} and
 * Parquet alone. {@link SsmForecasterModel#load} needs a SparkSession, which only the driver has;
 * this reader works inside a task (it is what {@code ssm_forecast} loads on executors). It reads
 * the class name from MLlib's {@code metadata} JSON and the one row of {@code data}, and checks the
 * row as {@code load} does (format version, featurization fingerprint). Params such as column names
 * are not read: a forecast from an array needs none.
 */
public final class ForecasterFiles {
  private final String path;
  private final ForecasterData data;

  private ForecasterFiles(String path, ForecasterData data) {
    this.path = path;
    this.data = data;
  }

  /**
   * Reads the model saved at {@code path}; fails naming the path when it holds none (a missing
   * folder, another stage, a trained network, a corrupt or foreign data row).
   */
  public static ForecasterFiles read(String path, Configuration conf) throws IOException {
    Path root = new Path(path);
    FileSystem fs = root.getFileSystem(conf);
    Path metadata = new Path(root, "metadata");
    if (!fs.exists(metadata)) {
      throw new IllegalArgumentException(String.format("'%s': expected a forecaster saved by SsmForecasterModel.save "
          + "or forecast --model-out, got no folder %s", path, metadata));
    }
    String saved = savedClass(fs, metadata);
    if (!SsmForecasterModel.class.getName().equals(saved)) {
      throw new IllegalArgumentException(String.format("'%s': expected a saved %s, got a saved %s%s", path,
          SsmForecasterModel.class.getSimpleName(), saved, SsmNetForecasterModel.class.getName().equals(saved)
              ? " (trained networks are not read here: their forecast needs the window's phase)" : ""));
    }
    Path dataPath = new Path(root, "data");
    List<Row> rows = new ArrayList<>();
    for (FileStatus f : fs.listStatus(dataPath)) {
      String name = f.getPath().getName();
      if (f.isFile() && name.endsWith(".parquet") && !name.startsWith("_") && !name.startsWith(".")) {
        rows.addAll(rows(f.getPath(), conf));
      }
    }
    if (rows.size() != 1) {
      throw new IllegalArgumentException(String.format("%s: expected one model data row, got %d", dataPath,
          rows.size()));
    }
    return new ForecasterFiles(path, ForecasterData.fromRow(rows.get(0), dataPath.toString()));
  }

  /** The {@code class} field of MLlib's metadata JSON (one line in its {@code part-} file). */
  private static String savedClass(FileSystem fs, Path metadata) throws IOException {
    for (FileStatus f : fs.listStatus(metadata)) {
      if (f.isFile() && f.getPath().getName().startsWith("part-") && f.getLen() > 0) {
        try (InputStream in = fs.open(f.getPath())) {
          String json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
          return new com.fasterxml.jackson.databind.ObjectMapper().readTree(json).path("class").asText("?");
        }
      }
    }
    throw new IllegalArgumentException(String.format("%s: expected MLlib's metadata JSON in a part- file, got none",
        metadata));
  }

  /** The rows of one Parquet file as rows of {@link ForecasterData#SCHEMA} (a field the file lacks is null). */
  private static List<Row> rows(Path file, Configuration conf) throws IOException {
    List<Row> out = new ArrayList<>();
    try (ParquetReader<Group> reader = ParquetReader.builder(new GroupReadSupport(), file).withConf(conf).build()) {
      for (Group g = reader.read(); g != null; g = reader.read()) {
        StructField[] fields = ForecasterData.SCHEMA.fields();
        Object[] values = new Object[fields.length];
        for (int i = 0; i < fields.length; i++) {
          values[i] = value(g, fields[i].name(), fields[i].dataType(), file);
        }
        out.add(new GenericRowWithSchema(values, ForecasterData.SCHEMA));
      }
    }
    return out;
  }

  private static Object value(Group g, String field, DataType type, Path file) {
    GroupType schema = g.getType();
    if (!schema.containsField(field) || g.getFieldRepetitionCount(field) == 0) {
      return null;
    }
    if (type.equals(DataTypes.IntegerType)) {
      return g.getInteger(field, 0);
    } else if (type.equals(DataTypes.LongType)) {
      return g.getLong(field, 0);
    } else if (type.equals(DataTypes.DoubleType)) {
      return g.getDouble(field, 0);
    } else if (type.equals(DataTypes.StringType)) {
      return g.getString(field, 0);
    } else if (type instanceof ArrayType a && a.elementType().equals(DataTypes.DoubleType)) {
      // Spark writes a LIST: a group holding one repeated field, itself a group of one element
      // (three levels) or, from writers of the legacy format, the repeated double itself.
      Group list = g.getGroup(field, 0);
      int n = list.getFieldRepetitionCount(0);
      boolean threeLevels = !list.getType().getType(0).isPrimitive();
      List<Double> values = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        values.add(threeLevels ? list.getGroup(0, i).getDouble(0, 0) : list.getDouble(0, i));
      }
      return scala.jdk.javaapi.CollectionConverters.asScala(values).toSeq();
    }
    throw new IllegalArgumentException(String.format("%s: field '%s': expected no %s field in a model data row", file,
        field, type.simpleString()));
  }

  /** Where the model was read from. */
  public String path() {
    return path;
  }

  /** The fitted linear forecaster (features and ridge weights). */
  public LinearForecaster forecaster() {
    return data.forecaster;
  }

  /** The grid and fill the model was fitted with. */
  public TimeGrid grid() {
    return data.grid;
  }

  /**
   * The H forecasts after consecutive steps {@code history} (oldest first; NaN or ±∞ missing),
   * as {@link SsmForecasterModel#transform} forecasts a series with these steps: the model's fill
   * policy is applied to the whole history, then the last {@code rowsRead} steps (L; 4 L for
   * {@code ssm}) are the window. Null when there is no such window (a history shorter than that,
   * or a step of the window still missing after the fill): the stage gives such a series no rows.
   */
  public double[] forecast(double[] history) {
    LinearForecaster f = data.forecaster;
    int l = f.rowsRead();
    if (history.length < l) {
      return null;
    }
    double[] steps = history;
    for (double v : history) {
      if (!Double.isFinite(v)) {
        steps = data.grid.filled(history);
        break;
      }
    }
    int off = steps.length - l;
    for (int t = off; t < steps.length; t++) {
      if (!Double.isFinite(steps[t])) {
        return null;
      }
    }
    double[] out = new double[f.horizon()];
    f.predict(steps, off, out, 0, new double[f.workspaceSize()]);
    return out;
  }
}
