package org.sparkssm.spark.ml;

import static org.apache.spark.sql.functions.col;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.FlatMapGroupsWithStateFunction;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.streaming.GroupState;
import org.apache.spark.sql.streaming.GroupStateTimeout;
import org.apache.spark.sql.streaming.OutputMode;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.sparkssm.forecast.LinearForecaster;
import org.sparkssm.spark.forecast.SsmForecast;
import org.sparkssm.spark.scan.TimeCodec;

/**
 * {@link SsmForecasterModel#transform} on a streaming DataFrame: each series keeps its last L
 * values and last two times in Spark's state store, and every micro-batch that brings rows of a
 * series emits its next H forecasts after the batch's last row, as the batch transform would for
 * the rows seen so far. Same policies as the batch path (no forecast rows while the last L values
 * are not all present; future times continue at the last gap); a row at or before the series' last time fails the
 * query naming the series (late rows cannot change forecasts already emitted). No state timeout:
 * a series' L values are kept for the life of the query.
 */
final class StreamingForecast {
  private StreamingForecast() {}

  static Dataset<Row> forecast(SsmForecasterModel model, Dataset<Row> df) {
    ForecasterParams p = model.forecasterParams();
    String series = p.get(p.seriesCol);
    String time = p.get(p.timeCol);
    DataType timeType = df.schema().apply(time).dataType();
    Dataset<Row> rows = df.select(col(series), TimeCodec.encode(col(time), timeType).as("__t"),
        col(p.get(p.valueCol)).cast(DataTypes.DoubleType).as("__v"));
    StructType keySchema = new StructType().add(series, df.schema().apply(series).dataType());
    StructType outSchema = new StructType().add(series, df.schema().apply(series).dataType())
        .add("__t", DataTypes.LongType).add(SsmForecast.STEP, DataTypes.IntegerType)
        .add(SsmForecast.FORECAST, DataTypes.DoubleType);
    MapFunction<Row, Row> keyOf = r -> RowFactory.create(r.get(0));
    Dataset<Row> out = rows.groupByKey(keyOf, Encoders.row(keySchema)).flatMapGroupsWithState(
        new Walker(model.forecaster(), series), OutputMode.Append(), Encoders.BINARY(), Encoders.row(outSchema),
        GroupStateTimeout.NoTimeout());
    Dataset<Row> decoded = out.select(col(series), TimeCodec.decode(col("__t"), timeType).as(time),
        col(SsmForecast.STEP).as(p.get(p.stepCol)), col(SsmForecast.FORECAST).as(p.get(p.predictionCol)));
    return model.withIntervals(decoded);
  }

  /** State: last time, previous time (or MIN_VALUE), rows seen, then the last L values oldest first. */
  private static final class Walker implements FlatMapGroupsWithStateFunction<Row, Row, byte[], Row> {
    private static final long serialVersionUID = 1L;
    private final LinearForecaster forecaster;
    private final String seriesColumn;

    Walker(LinearForecaster forecaster, String seriesColumn) {
      this.forecaster = forecaster;
      this.seriesColumn = seriesColumn;
    }

    @Override
    public Iterator<Row> call(Row key, Iterator<Row> values, GroupState<byte[]> state) {
      Object series = key.get(0);
      if (series == null) {
        throw new IllegalArgumentException("column '" + seriesColumn + "': expected a series key in every row, got null");
      }
      int l = forecaster.rowsRead();
      List<Row> rows = new ArrayList<>();
      values.forEachRemaining(rows::add);
      if (rows.isEmpty()) {
        return Collections.emptyIterator();
      }
      for (Row r : rows) {
        if (r.isNullAt(1)) {
          throw new IllegalArgumentException("series " + series + ": expected a time in every row, got null");
        }
      }
      rows.sort((a, b) -> Long.compare(a.getLong(1), b.getLong(1)));
      long last = Long.MIN_VALUE;
      long previous = Long.MIN_VALUE;
      long seen = 0;
      double[] window = new double[l];
      if (state.exists()) {
        ByteBuffer saved = ByteBuffer.wrap(state.get());
        last = saved.getLong();
        previous = saved.getLong();
        seen = saved.getLong();
        for (int i = 0; i < l; i++) {
          window[i] = saved.getDouble();
        }
      }
      for (Row r : rows) {
        long t = r.getLong(1);
        if (seen > 0 && t <= last) {
          throw new IllegalArgumentException(String.format("series %s: expected rows after time %d, got one at %d "
              + "(late, replayed or duplicate rows cannot change forecasts already emitted)", series, last, t));
        }
        System.arraycopy(window, 1, window, 0, l - 1);
        window[l - 1] = r.isNullAt(2) ? Double.NaN : r.getDouble(2);
        previous = seen > 0 ? last : Long.MIN_VALUE;
        last = t;
        seen++;
      }
      ByteBuffer next = ByteBuffer.allocate(24 + 8 * l).putLong(last).putLong(previous).putLong(seen);
      for (double v : window) {
        next.putDouble(v);
      }
      state.update(next.array());

      double[] yhat = new double[forecaster.horizon()];
      boolean present = seen >= l;
      for (int i = 0; i < l && present; i++) {
        present = Double.isFinite(window[i]);
      }
      if (!present) {
        return java.util.Collections.emptyIterator(); // never a NaN forecast: nothing until L present values
      }
      forecaster.predict(window, 0, yhat, 0, new double[forecaster.workspaceSize()]);
      long gap = previous == Long.MIN_VALUE ? 1 : last - previous;
      List<Row> out = new ArrayList<>(yhat.length);
      for (int k = 0; k < yhat.length; k++) {
        out.add(RowFactory.create(series, last + gap * (k + 1), k + 1, yhat[k]));
      }
      return out.iterator();
    }
  }
}
