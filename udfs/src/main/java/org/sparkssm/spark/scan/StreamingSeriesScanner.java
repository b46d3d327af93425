package org.sparkssm.spark.scan;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.FlatMapGroupsWithStateFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.streaming.GroupState;
import org.sparkssm.state.ScanState;

/**
 * The per-series function of a streaming scan: each micro-batch's rows of a series, sorted by time,
 * scanned from the state the previous micro-batches left in Spark's state store (checkpointed with
 * the query, so a restarted query continues from it). State value: the series' last time (8 bytes)
 * followed by its {@link ScanState} bytes.
 *
 * <p>Policies: a micro-batch's rows of one series are held in memory to sort them (bound them with
 * the source's {@code maxFilesPerTrigger} / {@code maxOffsetsPerTrigger}). A row at or before the
 * series' last scanned time (late or replayed data) fails the query naming the series and both
 * times: the scan cannot go back. With a state timeout, a series without rows for that long is
 * forgotten (processing time); rows arriving later start it again from the zero state.
 */
final class StreamingSeriesScanner implements FlatMapGroupsWithStateFunction<Row, Row, byte[], Row> {
  private static final long serialVersionUID = 1L;

  private final ScanConfig config;
  private final long timeoutMillis;

  StreamingSeriesScanner(ScanConfig config, long timeoutMillis) {
    this.config = config;
    this.timeoutMillis = timeoutMillis;
  }

  @Override
  public Iterator<Row> call(Row key, Iterator<Row> values, GroupState<byte[]> state) {
    if (state.hasTimedOut()) {
      state.remove();
      return Collections.emptyIterator();
    }
    if (key.isNullAt(0)) {
      throw NullSeriesKeys.failure(config.seriesColumn, config.timeType, values); // the micro-batch's null-key rows
    }
    Object series = key.get(0);
    List<Row> rows = new ArrayList<>();
    while (values.hasNext()) {
      Row r = values.next();
      if (r.isNullAt(ScanRows.TIME)) {
        throw SegmentScan.nullTime(config, series);
      }
      rows.add(r);
    }
    rows.sort((a, b) -> Long.compare(a.getLong(ScanRows.TIME), b.getLong(ScanRows.TIME)));
    double[] h = new double[config.model.stateSize()];
    long position = 0;
    long lastTime = Long.MIN_VALUE;
    String source = "series " + config.describe(series);
    if (state.exists()) {
      ByteBuffer saved = ByteBuffer.wrap(state.get());
      lastTime = saved.getLong();
      byte[] scanState = new byte[saved.remaining()];
      saved.get(scanState);
      ScanState s = ScanState.fromBytes(scanState, config.model.fingerprint(), source);
      h = s.hidden();
      position = s.position();
      if (!rows.isEmpty() && rows.get(0).getLong(ScanRows.TIME) <= lastTime) {
        throw new IllegalArgumentException(String.format("%s: expected rows after time %s (the state's last row), "
            + "got a row at time %s: late or replayed rows cannot be scanned into the past", source,
            config.formatTime(lastTime), config.formatTime(rows.get(0).getLong(ScanRows.TIME))));
      }
    }
    ScanRows layout = config.layout();
    SegmentScan scan = new SegmentScan(config, config.acquireWorkspace(), series,
        SeriesCursor.of(rows.iterator(), layout), h, position, lastTime, false);
    List<Row> out = new ArrayList<>(rows.size());
    layout.rows(scan).forEachRemaining(out::add);
    if (scan.rowsScanned() > 0) {
      byte[] scanState = ScanState.of(config.model.fingerprint(), scan.position(), scan.state()).toBytes();
      state.update(ByteBuffer.allocate(8 + scanState.length).putLong(scan.lastTime()).put(scanState).array());
    }
    if (timeoutMillis > 0) {
      state.setTimeoutDuration(timeoutMillis);
    }
    return out.iterator();
  }
}
