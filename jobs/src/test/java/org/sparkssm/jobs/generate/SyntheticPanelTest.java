package org.sparkssm.jobs.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SyntheticPanelTest {
  private static final long HOUR = 3_600_000_000L;

  private static SyntheticPanel panel(int channels, double drop) {
    return new SyntheticPanel(42, 0, HOUR, 500, channels, new double[] {24, 168}, SyntheticPanel.Noise.AR1, 0.7, drop);
  }

  /** Rows of one series as {step, value of channel 0}. */
  private static List<double[]> rows(SyntheticPanel p, long index) {
    List<double[]> out = new ArrayList<>();
    SyntheticPanel.Series s = p.series(index);
    while (s.next()) {
      out.add(new double[] {s.step(), s.value(0), s.timeMicros()});
    }
    return out;
  }

  @Test
  void aSeriesDependsOnlyOnTheSeedAndItsIndex() {
    List<double[]> a = rows(panel(1, 0), 3);
    List<double[]> b = rows(panel(1, 0), 3);
    assertEquals(500, a.size());
    for (int i = 0; i < a.size(); i++) {
      assertEquals(a.get(i)[1], b.get(i)[1], 0.0);
      assertEquals(i * (double) HOUR, a.get(i)[2], 0.0);
    }
    assertNotEquals(a.get(10)[1], rows(panel(1, 0), 4).get(10)[1]);
  }

  @Test
  void channelZeroDoesNotDependOnTheNumberOfChannels() {
    List<double[]> one = rows(panel(1, 0), 0);
    List<double[]> three = rows(panel(3, 0), 0);
    for (int i = 0; i < one.size(); i++) {
      assertEquals(one.get(i)[1], three.get(i)[1], 0.0);
    }
    SyntheticPanel.Series s = panel(3, 0).series(0);
    s.next();
    assertNotEquals(s.value(0), s.value(1));
  }

  @Test
  void anIrregularSeriesIsTheRegularOneWithRowsRemoved() {
    List<double[]> regular = rows(panel(1, 0), 7);
    List<double[]> irregular = rows(panel(1, 0.3), 7);
    assertTrue(irregular.size() > 250 && irregular.size() < 450, "kept " + irregular.size());
    for (double[] r : irregular) {
      assertEquals(regular.get((int) r[0])[1], r[1], 0.0);
    }
  }

  @Test
  void valuesAreFiniteAndSeasonal() {
    // White noise, one daily season: the mean over a day's phase differs from the overall mean.
    SyntheticPanel p = new SyntheticPanel(1, 0, HOUR, 24 * 60, 1, new double[] {24}, SyntheticPanel.Noise.WHITE, 0, 0);
    double[] byHour = new double[24];
    SyntheticPanel.Series s = p.series(0);
    while (s.next()) {
      assertTrue(Double.isFinite(s.value(0)));
      byHour[(int) (s.step() % 24)] += s.value(0) / 60;
    }
    double min = Double.MAX_VALUE;
    double max = -Double.MAX_VALUE;
    for (double v : byHour) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    assertTrue(max - min > 0.05 * max, "no daily wave: " + min + " .. " + max);
  }

  @Test
  void badArgumentsAreNamed() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new SyntheticPanel(0, 0, HOUR, 10, 1, new double[] {1}, SyntheticPanel.Noise.AR1, 0.5, 0));
    assertTrue(e.getMessage().startsWith("periods:"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> new SyntheticPanel(0, 0, HOUR, 10, 1, new double[0], SyntheticPanel.Noise.AR1, 1.0, 0));
    assertTrue(e.getMessage().startsWith("phi:"), e.getMessage());
  }

  @Test
  void idsSortInSeriesOrder() {
    assertEquals("S%01d", GenerateCommand.idFormat(10));
    assertEquals("S%02d", GenerateCommand.idFormat(11));
    assertEquals("S%01d", GenerateCommand.idFormat(1));
  }
}
