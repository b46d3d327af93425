package org.sparkssm.jobs.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Help;
import picocli.CommandLine.Model.UsageMessageSpec;

/**
 * Renders the footers of the help (the examples) so that a command line is never cut in the
 * middle of a word: picocli wraps a footer line that is wider than the usage width wherever it
 * must (after {@code hdfs:} in a URI, say), which leaves a command that cannot be copied. An
 * example line (indented) that is too wide is broken between words instead, with the shell's
 * {@code " \"} at the end and the rest indented below; other lines wrap between words.
 */
public final class HelpFooter {
  /** Indentation of an example's continuation lines, beyond the example's own. */
  private static final int CONTINUATION_INDENT = 4;

  private HelpFooter() {}

  /** Installs the footer renderer on {@code cli} and all its subcommands. */
  public static void install(CommandLine cli) {
    cli.getHelpSectionMap().put(UsageMessageSpec.SECTION_KEY_FOOTER, HelpFooter::render);
    for (CommandLine sub : cli.getSubcommands().values()) {
      install(sub);
    }
  }

  static String render(Help help) {
    UsageMessageSpec usage = help.commandSpec().usageMessage();
    StringBuilder out = new StringBuilder();
    for (String line : usage.footer()) {
      // Footers are format strings to picocli too (%n, %%).
      for (String piece : String.format(Locale.ROOT, line).split("\\R", -1)) {
        for (String wrapped : wrap(piece, usage.width())) {
          out.append(wrapped).append(System.lineSeparator());
        }
      }
    }
    return out.toString();
  }

  /** {@code line} in lines of at most {@code width} characters, cut between words only. */
  static List<String> wrap(String line, int width) {
    int indent = indent(line);
    boolean example = indent > 0;
    int comment = line.indexOf(" # ");
    if (example && comment > 0 && line.length() > width) {
      // A comment cannot hold a line continuation: it goes on its own lines, above its command.
      String margin = " ".repeat(indent);
      List<String> out = wrap(margin + line.substring(comment + 1), width, margin + "# ", "");
      out.addAll(wrap(line.substring(0, comment).stripTrailing(), width));
      return out;
    }
    return example ? wrap(line, width, " ".repeat(indent + CONTINUATION_INDENT), " \\") : wrap(line, width, "", "");
  }

  /** {@code line} cut between words: {@code suffix} ends each line but the last, {@code continuation} starts the next. */
  private static List<String> wrap(String line, int width, String continuation, String suffix) {
    List<String> out = new ArrayList<>();
    String rest = line;
    while (rest.length() > width) {
      int cut = rest.lastIndexOf(' ', width - suffix.length());
      if (cut <= indent(rest)) {
        break; // one word wider than the line: left whole
      }
      out.add(rest.substring(0, cut).stripTrailing() + suffix);
      rest = continuation + rest.substring(cut + 1).stripLeading();
    }
    out.add(rest);
    return out;
  }

  private static int indent(String line) {
    int i = 0;
    while (i < line.length() && line.charAt(i) == ' ') {
      i++;
    }
    return i;
  }
}
