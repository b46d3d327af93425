package org.sparkssm.jobs.forecast;

import java.net.URI;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Where a job's report and plot go: the output folder when it is local, else a local folder. */
final class ReportFiles {
  private ReportFiles() {}

  static Path localFolder(String outUri, String fallback) {
    URI uri = URI.create(outUri.replace(" ", "%20"));
    if (uri.getScheme() == null) {
      return Paths.get(outUri).toAbsolutePath();
    }
    if ("file".equals(uri.getScheme())) {
      return Paths.get(uri).toAbsolutePath();
    }
    return Paths.get(fallback).toAbsolutePath();
  }
}
