package org.sparkssm.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.sparkssm.Checks;
import org.sparkssm.weights.Safetensors;
import org.sparkssm.weights.SafetensorsWriter;

/**
 * A {@link Trainer.State} as one safetensors file: the weights, the optimizer state and the best
 * weights as F64 tensors ({@code weights}, {@code optimizer}, {@code best}), the counters and the
 * history as JSON under the metadata key {@code state}, and the run's identity under {@code run}
 * (model, data and config: {@link #read} refuses a checkpoint of another run). Nothing else is
 * needed to continue exactly: every random draw of training is a function of the seed, the epoch
 * and the step.
 */
public final class TrainingCheckpoint {
  private TrainingCheckpoint() {}

  /** Bumped when the file's layout changes. */
  static final int FORMAT_VERSION = 1;

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Writes {@code state} of the run {@code run} to {@code file}, atomically. */
  public static void write(Trainer.State state, String run, Path file) throws IOException {
    Checks.notNull("state", state);
    Checks.notNull("run", run);
    ObjectNode s = JSON.createObjectNode();
    s.put("format_version", FORMAT_VERSION);
    s.put("epoch", state.epoch());
    s.put("step", state.step());
    s.put("best_validation_mse", state.bestValidationMse());
    s.put("best_epoch", state.bestEpoch());
    s.put("since_best", state.sinceBest());
    s.put("finished", state.finished());
    ArrayNode history = s.putArray("history");
    for (Trainer.Epoch e : state.history()) {
      ArrayNode row = history.addArray();
      row.add(e.epoch()).add(e.trainLoss()).add(e.validationMse()).add(e.validationMae()).add(e.learningRate())
          .add(e.seconds());
    }
    SafetensorsWriter st = new SafetensorsWriter().metadata("format", "spark-ssm training checkpoint")
        .metadata("run", run).metadata("state", JSON.writeValueAsString(s))
        .add("weights", Safetensors.DType.F64, state.weights(), 0, state.weights().length)
        .add("optimizer", Safetensors.DType.F64, state.optimizer(), 0, state.optimizer().length)
        .add("best", Safetensors.DType.F64, state.best(), 0, state.best().length);
    st.write(file);
  }

  /**
   * Reads a checkpoint of the run {@code run}; a file of another run, format or build fails naming
   * the file and what differs.
   */
  public static Trainer.State read(Path file, String run) throws IOException {
    Safetensors st = Safetensors.open(file);
    String savedRun = st.metadata().get("run");
    String state = st.metadata().get("state");
    if (savedRun == null || state == null) {
      Checks.fail("%s: expected a spark-ssm training checkpoint, got a safetensors file without its state", file);
    }
    if (!savedRun.equals(run)) {
      Checks.fail("%s: expected a checkpoint of this run (%s), got one of another run (%s); resume with the same "
          + "data, model and training settings, or start in a new checkpoint folder", file, run, savedRun);
    }
    JsonNode s = JSON.readTree(state);
    if (s.path("format_version").asInt(-1) != FORMAT_VERSION) {
      Checks.fail("%s: expected checkpoint format version %d, got %d", file, FORMAT_VERSION,
          s.path("format_version").asInt(-1));
    }
    List<Trainer.Epoch> history = new ArrayList<>();
    for (JsonNode row : s.path("history")) {
      history.add(new Trainer.Epoch(row.get(0).asInt(), number(row.get(1)), number(row.get(2)), number(row.get(3)),
          number(row.get(4)), number(row.get(5))));
    }
    return new Trainer.State(s.path("epoch").asInt(), s.path("step").asLong(), st.read("weights"),
        st.read("optimizer"), st.read("best"), number(s.path("best_validation_mse")), s.path("best_epoch").asInt(),
        s.path("since_best").asInt(), List.copyOf(history), s.path("finished").asBoolean());
  }

  /** Jackson writes NaN and infinities as strings ("NaN"); numbers come back exactly. */
  private static double number(JsonNode n) {
    return n.isTextual() ? Double.parseDouble(n.asText()) : n.asDouble();
  }
}
