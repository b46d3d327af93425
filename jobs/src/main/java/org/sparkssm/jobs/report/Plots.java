package org.sparkssm.jobs.report;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import javax.imageio.ImageIO;
import org.knowm.xchart.AnnotationLine;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * PNG charts for the job reports, drawn with XChart in headless mode (no display needed). The charts
 * are small local files next to a report; the data behind them is a few series collected to the
 * driver by the caller.
 */
public final class Plots {
  private Plots() {}

  /** Default image width and height of one series' panel, pixels. */
  public static final int WIDTH = 1000;
  public static final int PANEL_HEIGHT = 260;

  /** One line of a chart: times and values of the same length (NaN values leave a gap). */
  public record Line(Instant[] times, double[] values) {
    public Line {
      Objects.requireNonNull(times, "times");
      Objects.requireNonNull(values, "values");
      if (times.length != values.length) {
        throw new IllegalArgumentException(
            "line: expected as many values as times (" + times.length + "), got " + values.length);
      }
    }
  }

  /**
   * What is drawn for one series: its history, the actual values after it, the forecast of them,
   * the bounds of a prediction interval around the forecast, and the forecast origin, drawn as a
   * vertical line (each null when there is none).
   */
  public record SeriesView(String id, Line history, Line actual, Line forecast, Line lower, Line upper,
      Instant origin) {
    public SeriesView {
      Objects.requireNonNull(id, "id");
    }

    public SeriesView(String id, Line history, Line actual, Line forecast) {
      this(id, history, actual, forecast, null, null, null);
    }
  }

  /** {@link #forecastVsActual(Path, String, List, int, int)} at the default size. */
  public static Path forecastVsActual(Path png, String title, List<SeriesView> series) throws IOException {
    return forecastVsActual(png, title, series, WIDTH, PANEL_HEIGHT);
  }

  /**
   * Writes one PNG with a panel per series, stacked: history (grey), actual (black), forecast
   * (blue), the interval's bounds (light blue) and the forecast origin (red) against time. The image is {@code width} × ({@code panelHeight} × number of series)
   * pixels. Any of a view's lines may be null.
   *
   * @return {@code png}
   */
  public static Path forecastVsActual(Path png, String title, List<SeriesView> series, int width, int panelHeight)
      throws IOException {
    if (series == null || series.isEmpty()) {
      throw new IllegalArgumentException("series: expected at least one series to plot, got none");
    }
    if (width < 100 || panelHeight < 100) {
      throw new IllegalArgumentException(
          "size: expected a width and panel height of at least 100 pixels, got " + width + "x" + panelHeight);
    }
    System.setProperty("java.awt.headless", "true");
    BufferedImage image = new BufferedImage(width, panelHeight * series.size(), BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    try {
      for (int i = 0; i < series.size(); i++) {
        SeriesView view = series.get(i);
        String panelTitle = i == 0 && title != null ? title + ": " + view.id() : view.id();
        XYChart chart = new XYChartBuilder().width(width).height(panelHeight).title(panelTitle).build();
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setDatePattern("yyyy-MM-dd HH:mm");
        chart.getStyler().setMarkerSize(0);
        add(chart, "history", view.history(), new Color(150, 150, 150));
        add(chart, "actual", view.actual(), Color.BLACK);
        add(chart, "forecast", view.forecast(), new Color(31, 119, 180));
        add(chart, "interval low", view.lower(), new Color(158, 202, 225));
        add(chart, "interval high", view.upper(), new Color(158, 202, 225));
        if (view.origin() != null) {
          AnnotationLine origin = new AnnotationLine(view.origin().toEpochMilli(), true, false);
          chart.getStyler().setAnnotationLineColor(new Color(214, 39, 40));
          chart.addAnnotation(origin);
        }
        if (chart.getSeriesMap().isEmpty()) {
          throw new IllegalArgumentException("series '" + view.id() + "': expected at least one line, got none");
        }
        g.drawImage(BitmapEncoder.getBufferedImage(chart), 0, i * panelHeight, null);
      }
    } finally {
      g.dispose();
    }
    Path parent = png.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    if (!ImageIO.write(image, "png", png.toFile())) {
      throw new IOException("'" + png + "': no PNG writer available");
    }
    return png;
  }

  /**
   * Writes a training curve: the training loss and the validation MSE per epoch (epoch 0, the
   * starting weights, has a validation MSE only), with the kept epoch marked.
   *
   * @return {@code png}
   */
  public static Path trainingCurve(Path png, String title, int[] epochs, double[] trainLoss, double[] validationMse,
      int bestEpoch) throws IOException {
    if (epochs.length == 0 || trainLoss.length != epochs.length || validationMse.length != epochs.length) {
      throw new IllegalArgumentException("epochs: expected one train loss and validation MSE per epoch, got "
          + epochs.length + " epochs, " + trainLoss.length + " and " + validationMse.length + " values");
    }
    System.setProperty("java.awt.headless", "true");
    XYChart chart = new XYChartBuilder().width(WIDTH).height(2 * PANEL_HEIGHT).title(title).xAxisTitle("epoch")
        .yAxisTitle("loss").build();
    chart.getStyler().setChartBackgroundColor(Color.WHITE);
    addCurve(chart, "train loss", epochs, trainLoss, new Color(31, 119, 180));
    addCurve(chart, "validation MSE", epochs, validationMse, new Color(255, 127, 14));
    if (chart.getSeriesMap().isEmpty()) {
      throw new IllegalArgumentException("curve: expected at least one finite loss, got none");
    }
    chart.getStyler().setAnnotationLineColor(new Color(214, 39, 40));
    chart.addAnnotation(new AnnotationLine(bestEpoch, true, false));
    Path parent = png.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    return png;
  }

  /** The finite points of a curve (epoch 0 has no training loss). */
  private static void addCurve(XYChart chart, String name, int[] x, double[] y, Color color) {
    List<Double> xs = new ArrayList<>();
    List<Double> ys = new ArrayList<>();
    for (int i = 0; i < x.length; i++) {
      if (Double.isFinite(y[i])) {
        xs.add((double) x[i]);
        ys.add(y[i]);
      }
    }
    if (!xs.isEmpty()) {
      XYSeries s = chart.addSeries(name, xs, ys);
      s.setMarker(SeriesMarkers.CIRCLE);
      s.setLineColor(color);
      s.setMarkerColor(color);
    }
  }

  private static void add(XYChart chart, String name, Line line, Color color) {
    if (line == null || line.times().length == 0) {
      return;
    }
    List<Date> x = new ArrayList<>(line.times().length);
    List<Double> y = new ArrayList<>(line.values().length);
    for (int i = 0; i < line.times().length; i++) {
      x.add(Date.from(line.times()[i]));
      y.add(line.values()[i]);
    }
    XYSeries s = chart.addSeries(name, x, y);
    s.setMarker(SeriesMarkers.NONE);
    s.setLineColor(color);
  }
}
