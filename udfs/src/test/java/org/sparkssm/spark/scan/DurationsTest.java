package org.sparkssm.spark.scan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {
  @Test
  void durationsNameTheOption() {
    assertEquals(Duration.ofMinutes(15), Durations.parse("--freq", "15min"));
    assertEquals(Duration.ofHours(1), Durations.parse("--freq", "1H"));
    assertEquals(Duration.ofDays(14), Durations.parse("--freq", "2w"));
    assertEquals(3_600_000_000L, Durations.micros(Duration.ofHours(1)));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Durations.parse("--freq", "1 fortnight"));
    assertTrue(e.getMessage().startsWith("--freq: expected a unit"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Durations.parse("--freq", "0h"));
    assertTrue(e.getMessage().startsWith("--freq: expected a positive"), e.getMessage());
  }
}
