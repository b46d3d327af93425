package org.sparkssm.jobs.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlotsTest {
  @TempDir
  Path dir;

  private static Plots.Line line(int from, int length, double phase) {
    Instant[] t = new Instant[length];
    double[] y = new double[length];
    for (int i = 0; i < length; i++) {
      t[i] = Instant.parse("2024-01-01T00:00:00Z").plusSeconds(3600L * (from + i));
      y[i] = Math.sin(2 * Math.PI * (from + i) / 24 + phase);
    }
    return new Plots.Line(t, y);
  }

  @Test
  void writesAValidPngWithOnePanelPerSeries() throws Exception {
    List<Plots.SeriesView> views = List.of(
        new Plots.SeriesView("S00", line(0, 96, 0), line(96, 24, 0), line(96, 24, 0.2)),
        new Plots.SeriesView("S01", line(0, 96, 1), line(96, 24, 1), null),
        new Plots.SeriesView("S02", null, null, line(96, 24, 2)));
    Path png = Plots.forecastVsActual(dir.resolve("sub/forecast.png"), "horizon 24", views, 640, 200);
    byte[] bytes = Files.readAllBytes(png);
    assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, Arrays.copyOf(bytes, 8));
    BufferedImage image = ImageIO.read(png.toFile());
    assertEquals(640, image.getWidth());
    assertEquals(3 * 200, image.getHeight());
    // Something was drawn in every panel: more than one colour per band.
    for (int panel = 0; panel < 3; panel++) {
      int first = image.getRGB(320, panel * 200 + 100);
      boolean varied = false;
      for (int x = 0; x < 640 && !varied; x += 3) {
        varied = image.getRGB(x, panel * 200 + 100) != first;
      }
      assertTrue(varied, "panel " + panel + " is blank");
    }
  }

  @Test
  void badInputsAreNamed() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Plots.forecastVsActual(dir.resolve("x.png"), "t", List.of()));
    assertTrue(e.getMessage().startsWith("series:"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> new Plots.Line(new Instant[2], new double[3]));
    assertTrue(e.getMessage().startsWith("line: expected as many values as times (2), got 3"), e.getMessage());
  }
}
