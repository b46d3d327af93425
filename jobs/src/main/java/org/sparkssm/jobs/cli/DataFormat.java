package org.sparkssm.jobs.cli;

import java.util.Locale;

/** The table formats the jobs read and write. */
public enum DataFormat {
  PARQUET,
  CSV;

  /** The format an input or output name implies, or null when its name says nothing. */
  static DataFormat fromName(String uri) {
    String name = uri.toLowerCase(Locale.ROOT);
    if (name.endsWith(".csv") || name.endsWith(".csv.gz") || name.endsWith(".csv.bz2")) {
      return CSV;
    }
    if (name.endsWith(".parquet")) {
      return PARQUET;
    }
    return null;
  }
}
