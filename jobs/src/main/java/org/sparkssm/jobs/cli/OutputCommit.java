package org.sparkssm.jobs.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Makes a job's outputs visible together or not at all, and an overwrite keep the previous result
 * until the new one is complete.
 *
 * <p>Every output {@code dir/name} is written first to a staging folder beside it,
 * {@code dir/.name.spark-ssm-staging} (Spark and Hadoop readers skip names that start with a dot).
 * When all are written, {@link #publish} writes a journal {@code dir/.name.spark-ssm-commit} next
 * to the primary output (the one whose {@code _SUCCESS} a reader waits for), moves the outputs that
 * exist aside ({@code .name.spark-ssm-previous}, the primary first, so the old set disappears as a
 * whole), renames each staging folder into place (the primary last, so its presence means the rest
 * is there), then deletes the old outputs and the journal. Renames of folders are atomic on HDFS
 * and on local disks; object stores without atomic renames get the same order but not the
 * guarantee.
 *
 * <p>The commit point is the primary's rename. A run that stops before it (killed, or a failure)
 * has no effect: {@link #begin} of the next run on the same outputs rolls back from the journal
 * (the old outputs come back) or deletes a staging folder that no journal names, and says so. A
 * run stopped after it is finished by the next run (old outputs deleted). Each step of both
 * recoveries can itself be interrupted and repeated. Two runs writing the same outputs at the same
 * time are not supported: the second one removes the first one's staging folder.
 */
public final class OutputCommit implements AutoCloseable {
  static final String STAGING = ".spark-ssm-staging";
  static final String PREVIOUS = ".spark-ssm-previous";
  static final String JOURNAL = ".spark-ssm-commit";

  /**
   * The system property naming a step after which the JVM halts at once (as {@code kill -9} would):
   * the kill tests' way of stopping a real job at an exact point. Never set in production.
   */
  static final String HALT_AFTER = "sparkssm.test.haltAfter";

  /** Called after every file-system change of a commit or a recovery, with the step's name. */
  interface Steps {
    void after(String step);
  }

  private static final Steps HALT_ON_REQUEST = step -> {
    if (step.equals(System.getProperty(HALT_AFTER))) {
      Runtime.getRuntime().halt(137);
    }
  };

  /** One output: where it goes, where it is staged, where the previous one waits during the commit. */
  private static final class Entry {
    final String uri;
    final Path target;
    final Path staging;
    final Path previous;

    Entry(String uri, Path target) {
      this.uri = uri;
      this.target = target;
      this.staging = sibling(target, STAGING);
      this.previous = sibling(target, PREVIOUS);
    }
  }

  private final FileSystem fs;
  /** For the commit's own small files: on a local disk, the file system that writes no .crc file beside them. */
  private final FileSystem raw;
  private final List<Entry> entries; // publish order: the primary last
  private final Path journal;
  private final Steps steps;
  private boolean journaled;
  private boolean published;

  private OutputCommit(FileSystem fs, List<Entry> entries, Steps steps) {
    this.fs = fs;
    this.raw = fs instanceof LocalFileSystem ? ((LocalFileSystem) fs).getRawFileSystem() : fs;
    this.entries = entries;
    this.journal = sibling(entries.get(entries.size() - 1).target, JOURNAL);
    this.steps = steps;
  }

  /**
   * Starts a commit of {@code primary} and {@code others}, before any work: finishes or rolls back a
   * stopped earlier run (each action is reported to {@code notices}), refuses an output that is a
   * file, or a folder holding anything unless {@code overwrite}, and creates the staging folders
   * (so an output that cannot be written fails now).
   */
  public static OutputCommit begin(Configuration conf, boolean overwrite, Consumer<String> notices, String primary,
      String... others) {
    return begin(conf, overwrite, notices, HALT_ON_REQUEST, primary, others);
  }

  static OutputCommit begin(Configuration conf, boolean overwrite, Consumer<String> notices, Steps steps,
      String primary, String... others) {
    Path primaryPath = new Path(primary);
    FileSystem fs = io(primary, () -> primaryPath.getFileSystem(conf));
    Map<Path, Entry> byTarget = new LinkedHashMap<>();
    for (String uri : others) {
      add(byTarget, fs, uri);
    }
    add(byTarget, fs, primary);
    OutputCommit commit = new OutputCommit(fs, new ArrayList<>(byTarget.values()), steps);
    commit.recover(notices);
    for (Entry e : commit.entries) {
      commit.requireWritable(e, overwrite, notices);
    }
    for (Entry e : commit.entries) {
      io(e.uri, () -> {
        if (!commit.fs.mkdirs(e.staging)) {
          throw new IOException("cannot create " + e.staging);
        }
        return null;
      });
    }
    return commit;
  }

  private static void add(Map<Path, Entry> byTarget, FileSystem fs, String uri) {
    Path path = new Path(uri);
    FileSystem own = io(uri, () -> path.getFileSystem(fs.getConf()));
    Path target = own.makeQualified(path);
    if (!own.getUri().equals(fs.getUri())) {
      throw new IllegalArgumentException("output '" + uri + "': expected the file system of the other outputs ("
          + fs.getUri() + "), got another one (outputs are published together by renames)");
    }
    for (Entry other : byTarget.values()) {
      String a = target.toUri().getPath() + "/";
      String b = other.target.toUri().getPath() + "/";
      if (a.equals(b)) {
        throw new IllegalArgumentException("output '" + uri + "': expected different paths for the job's outputs, "
            + "got this one twice");
      }
      if (a.startsWith(b) || b.startsWith(a)) {
        throw new IllegalArgumentException(String.format("output '%s': expected outputs that do not contain one "
            + "another, got it and '%s' (each is published by its own rename)", uri, other.uri));
      }
    }
    byTarget.put(target, new Entry(uri, target));
  }

  /** Where {@code output} (one of the URIs given to {@link #begin}) is written before the commit. */
  public String staged(String output) {
    Path target = fs.makeQualified(new Path(output));
    for (Entry e : entries) {
      if (e.target.equals(target)) {
        return e.staging.toString();
      }
    }
    throw new IllegalArgumentException("output '" + output + "': not one of this commit's outputs");
  }

  /** Copies a local file into the staged {@code output} folder under its own name, then deletes it. */
  public void putLocalFile(String output, java.nio.file.Path local) {
    Path to = new Path(staged(output), local.getFileName().toString());
    io(output, () -> {
      raw.copyFromLocalFile(true, true, new Path(local.toUri()), to);
      return null;
    });
  }

  /** Publishes every output (see the class comment); once this returns, they are all in place. */
  public void publish() {
    Entry primary = entries.get(entries.size() - 1);
    io(primary.uri, () -> {
      for (Entry e : entries) {
        if (!fs.exists(e.staging)) {
          throw new IOException("staging folder " + e.staging + " vanished (another run on the same output?)");
        }
      }
      Path marker = new Path(primary.staging, "_SUCCESS");
      if (!fs.exists(marker)) { // a folder of several outputs gets the marker a Spark table has
        raw.create(marker, false).close();
      }
      writeJournal();
      journaled = true;
      steps.after("journal");
      try {
        for (int i = entries.size() - 1; i >= 0; i--) { // old outputs aside, the primary first
          Entry e = entries.get(i);
          if (fs.exists(e.target)) {
            rename(e.target, e.previous);
            steps.after("aside:" + e.target.getName());
          }
        }
        for (Entry e : entries) {
          rename(e.staging, e.target);
          steps.after("published:" + e.target.getName());
        }
      } catch (IOException | RuntimeException e) {
        // Before the commit point (the primary's rename is the last step that can fail here).
        try {
          rollBack(entries);
          journaled = false;
        } catch (IOException | RuntimeException undo) {
          e.addSuppressed(undo); // the next run on these outputs rolls back from the journal
        }
        throw e;
      }
      published = true;
      cleanUp();
      return null;
    });
  }

  /** Deletes the staging folders of a commit that was not published (a failed job). */
  @Override
  public void close() {
    if (published || journaled) {
      return; // a journal that could not be rolled back: the next run recovers from it
    }
    for (Entry e : entries) {
      try {
        fs.delete(e.staging, true);
      } catch (IOException ignored) {
        // The next run on this output deletes it, with a message.
      }
    }
  }

  /** Finishes or rolls back an earlier run stopped during its commit, and removes unfinished staging folders. */
  private void recover(Consumer<String> notices) {
    Entry primary = entries.get(entries.size() - 1);
    io(primary.uri, () -> {
      if (fs.exists(journal)) {
        List<Entry> journaled = readJournal();
        Entry journaledPrimary = journaled.get(journaled.size() - 1);
        if (!fs.exists(journaledPrimary.staging)) {
          // Past the commit point: the earlier run's outputs are all in place.
          for (Entry e : journaled) {
            fs.delete(e.previous, true);
            steps.after("forward:" + e.target.getName());
          }
          fs.delete(journal, false);
          notices.accept(String.format("output '%s': finished publishing the outputs of an earlier run that was "
              + "stopped after its commit (%s)", primary.uri, names(journaled)));
        } else {
          rollBack(journaled);
          notices.accept(String.format("output '%s': an earlier run was stopped while publishing; its outputs were "
              + "discarded and the previous ones restored (%s)", primary.uri, names(journaled)));
        }
      }
      for (Entry e : entries) {
        for (Path leftover : new Path[] {e.staging, e.previous}) {
          if (fs.exists(leftover)) {
            fs.delete(leftover, true);
            notices.accept(String.format("output '%s': removed %s, left by an earlier run that was stopped before "
                + "it finished", e.uri, leftover.getName()));
          }
        }
      }
      return null;
    });
  }

  /**
   * Undoes a commit stopped before the primary's rename: every output published is moved back to
   * its staging folder and every output moved aside comes back (the primary last), then the journal
   * goes and only then the staging folders. Each entry's state tells which steps are done, so an
   * interrupted roll-back can be repeated: staging absent means published; previous present means
   * the target is not the old output.
   */
  private void rollBack(List<Entry> journaled) throws IOException {
    for (Entry e : journaled) {
      if (!fs.exists(e.staging)) {
        rename(e.target, e.staging);
        steps.after("back:" + e.target.getName());
      }
      if (fs.exists(e.previous)) {
        rename(e.previous, e.target);
        steps.after("restored:" + e.target.getName());
      }
    }
    fs.delete(journal, false);
    steps.after("rolled-back");
    for (Entry e : journaled) {
      fs.delete(e.staging, true);
    }
  }

  private void requireWritable(Entry e, boolean overwrite, Consumer<String> notices) {
    io(e.uri, () -> {
      if (!fs.exists(e.target)) {
        return null;
      }
      FileStatus status = fs.getFileStatus(e.target);
      if (!status.isDirectory()) {
        throw new IllegalArgumentException("output '" + e.uri + "': expected a folder, got a file");
      }
      FileStatus[] children = fs.listStatus(e.target);
      if (children.length == 1 && children[0].getPath().getName().equals("_temporary")) {
        // What a Spark write killed before its job commit leaves behind (and nothing else).
        fs.delete(e.target, true);
        notices.accept("output '" + e.uri + "': removed the _temporary folder of a write that was stopped before "
            + "it finished");
        return null;
      }
      if (children.length == 0) {
        fs.delete(e.target, false); // a rename onto an existing folder would move the output inside it
      } else if (!overwrite) {
        throw new IllegalArgumentException(String.format(java.util.Locale.ROOT, "output '%s': expected an absent or "
            + "empty folder, got one holding %d %s, e.g. '%s' (use --overwrite)", e.uri, children.length,
            children.length == 1 ? "entry" : "entries", children[0].getPath().getName()));
      }
      return null;
    });
  }

  private void writeJournal() throws IOException {
    StringBuilder text = new StringBuilder("# spark-ssm output commit: target URIs, the primary last\n");
    for (Entry e : entries) {
      text.append(e.target).append('\n');
    }
    Path tmp = new Path(journal.getParent(), journal.getName() + ".tmp");
    try (OutputStream o = raw.create(tmp, true)) {
      o.write(text.toString().getBytes(StandardCharsets.UTF_8));
    }
    raw.delete(journal, false);
    if (!raw.rename(tmp, journal)) { // the journal appears whole or not at all
      throw new IOException("cannot rename " + tmp + " to " + journal);
    }
  }

  private List<Entry> readJournal() throws IOException {
    List<Entry> out = new ArrayList<>();
    byte[] bytes;
    try (var in = raw.open(journal)) {
      bytes = in.readAllBytes();
    }
    for (String line : new String(bytes, StandardCharsets.UTF_8).split("\n")) {
      if (!line.isBlank() && !line.startsWith("#")) {
        out.add(new Entry(line, new Path(line)));
      }
    }
    if (out.isEmpty()) {
      throw new IOException("commit journal " + journal + " names no outputs");
    }
    return out;
  }

  private void cleanUp() throws IOException {
    for (Entry e : entries) {
      fs.delete(e.previous, true);
      steps.after("cleaned:" + e.target.getName());
    }
    fs.delete(journal, false);
  }

  private void rename(Path from, Path to) throws IOException {
    if (!fs.rename(from, to)) {
      throw new IOException("cannot rename " + from + " to " + to);
    }
  }

  private static String names(List<Entry> journaled) {
    List<String> names = new ArrayList<>();
    for (Entry e : journaled) {
      names.add(e.target.toString());
    }
    return String.join(", ", names);
  }

  /** {@code dir/.name<suffix>} for {@code dir/name}. */
  private static Path sibling(Path target, String suffix) {
    String name = target.getName();
    return new Path(target.getParent(), (name.startsWith(".") ? name : "." + name) + suffix);
  }

  private interface IoAction<T> {
    T run() throws IOException;
  }

  private static <T> T io(String uri, IoAction<T> action) {
    try {
      return action.run();
    } catch (IOException e) {
      throw new UncheckedIOException("output '" + uri + "': " + e.getMessage(), e);
    }
  }
}
