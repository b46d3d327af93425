package org.sparkssm.jobs.cli;

import org.apache.spark.sql.SaveMode;

/** What a job does when its output path exists. */
public enum WriteMode {
  /** Fail before any work is done (the default). */
  ERROR(SaveMode.ErrorIfExists),
  /** Replace the existing output. */
  OVERWRITE(SaveMode.Overwrite);

  private final SaveMode saveMode;

  WriteMode(SaveMode saveMode) {
    this.saveMode = saveMode;
  }

  SaveMode saveMode() {
    return saveMode;
  }
}
