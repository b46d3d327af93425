package org.sparkssm.jobs;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** {@code --version}: the project version, filtered into version.properties at build time. */
final class Version implements IVersionProvider {
  @Override
  public String[] getVersion() throws IOException {
    Properties p = new Properties();
    try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
      if (in != null) {
        p.load(in);
      }
    }
    return new String[] {"spark-ssm " + p.getProperty("version", "(unknown version)")
        + ", Spark " + org.apache.spark.package$.MODULE$.SPARK_VERSION()};
  }
}
