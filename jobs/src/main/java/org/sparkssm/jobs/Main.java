package org.sparkssm.jobs;

import java.io.PrintWriter;
import org.sparkssm.jobs.bench.BenchCommand;
import org.sparkssm.jobs.cli.Failures;
import org.sparkssm.jobs.cli.HelpFooter;
import org.sparkssm.jobs.cli.SparkCommand;
import org.sparkssm.jobs.forecast.EvaluateCommand;
import org.sparkssm.jobs.forecast.ForecastCommand;
import org.sparkssm.jobs.generate.GenerateCommand;
import org.sparkssm.jobs.scan.ScanCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * The entry point of the jobs jar: {@code spark-ssm <subcommand> [options]}, under the
 * {@code bin/spark-ssm} launcher or {@code spark-submit --class org.sparkssm.jobs.Main}.
 *
 * <p>A subcommand is a {@link SparkCommand} listed in {@code subcommands} below. Exit codes: 0
 * success; 2 usage error (picocli prints the message and the usage); 1 failure, with one line on
 * stderr naming the root cause, and its stack trace under {@code --verbose}.
 */
@Command(name = "spark-ssm", mixinStandardHelpOptions = true, versionProvider = Version.class,
    usageHelpAutoWidth = true,
    description = "State-space sequence models on Apache Spark. Each subcommand takes --help.",
    subcommands = {ForecastCommand.class, EvaluateCommand.class, org.sparkssm.jobs.train.TrainCommand.class,
        GenerateCommand.class, ScanCommand.class,
        org.sparkssm.jobs.score.ScoreCommand.class,
        BenchCommand.class, HelpCommand.class},
    footer = {"", "Examples:",
        "  spark-ssm forecast                      # the sample panel in data-samples/",
        "  spark-ssm evaluate --data ../shared/data --datasets ETTh1 -H 96",
        "  spark-ssm generate --out /tmp/panel --series 20 --length 720 --freq 1h",
        "  spark-ssm scan -i /tmp/panel -o /tmp/scanned --model s4d-lin --state 16",
        "  spark-submit --class org.sparkssm.jobs.Main --master yarn \\",
        "      jobs/target/spark-ssm-jobs-*.jar scan -i hdfs:///in -o hdfs:///out -m legt",
        "", "Exit codes: 0 success, 1 failure (the cause on stderr), 2 usage error."})
public final class Main implements Runnable {
  public static final int EXIT_OK = 0;
  public static final int EXIT_FAILURE = 1;
  public static final int EXIT_USAGE = 2;

  @CommandLine.Spec
  private CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs a command line with stdout and stderr; returns the exit code (never exits the JVM). */
  public static int run(String... args) {
    return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
  }

  /** Runs a command line writing to {@code out} and {@code err}; returns the exit code. */
  public static int run(PrintWriter out, PrintWriter err, String... args) {
    System.setProperty("java.awt.headless", "true"); // reports draw PNGs without a display
    CommandLine cli = commandLine();
    cli.setOut(out);
    cli.setErr(err);
    int code = cli.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  /** The command tree with the project's settings (case-insensitive enum values, exit codes, examples unbroken). */
  public static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new Main());
    cli.setCaseInsensitiveEnumValuesAllowed(true);
    cli.setExecutionExceptionHandler(new FailureHandler());
    HelpFooter.install(cli);
    return cli;
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "Missing a subcommand");
  }

  /** Prints a failure as one line (and the stack trace under --verbose); exit code 1. */
  static final class FailureHandler implements IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception e, CommandLine cmd, ParseResult parsed) {
      PrintWriter err = cmd.getErr();
      err.println(cmd.getCommandName() + ": error: " + Failures.oneLine(e));
      ParseResult own = cmd.getParseResult();
      if (own != null && own.hasMatchedOption("--verbose")) {
        e.printStackTrace(err);
      }
      err.flush();
      return EXIT_FAILURE;
    }
  }
}
