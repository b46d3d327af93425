package org.sparkssm.spark.ml;

import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.param.Params;
import org.sparkssm.nn.LearningRate;
import org.sparkssm.nn.Loss;
import org.sparkssm.nn.Precision;
import org.sparkssm.train.DeepModels;
import org.sparkssm.train.TrainingConfig;

/**
 * The params {@link SsmNetForecaster} and {@link SsmNetForecasterModel} share: the closed-form
 * stages' columns, L, H, split, grid and intervals ({@link ForecasterParams}), the network
 * ({@link DeepModels}: 0 for a size takes the model's default) and its training
 * ({@link TrainingConfig}).
 */
final class NetForecasterParams extends ForecasterParams {
  final IntParam dModel;
  final IntParam layers;
  final IntParam dState;
  final IntParam dFf;
  final DoubleParam dropout;
  final IntParam cycle;
  final Param<String> skip;
  final IntParam epochs;
  final IntParam batchSize;
  final DoubleParam learningRate;
  final IntParam warmupSteps;
  final DoubleParam weightDecay;
  final DoubleParam clipNorm;
  final Param<String> loss;
  final IntParam patience;
  final IntParam windowsPerEpoch;
  final LongParam seed;
  final IntParam numPartitions;
  final Param<String> checkpointDir;
  final BooleanParam resume;
  final Param<String> precision;

  NetForecasterParams(Params owner) {
    super(owner, new Param<>(owner, "model", "network: " + String.join(", ", DeepModels.NAMES) + " (smamba: "
        + "variate-token bidirectional Mamba; s4dnet: deep S4D over time; rlinear: one linear map of the "
        + "normalized window)", new ForecasterParams.Accepts(DeepModels::named)));
    dModel = new IntParam(owner, "dModel", "width of the token (smamba) or channel (s4dnet) representation; 0: the "
        + "model's default", ParamValidators.gtEq(0));
    layers = new IntParam(owner, "layers", "encoder layers; 0: the model's default", ParamValidators.gtEq(0));
    dState = new IntParam(owner, "dState", "SSM state size (Mamba's N, S4D's complex modes); 0: the model's default",
        ParamValidators.gtEq(0));
    dFf = new IntParam(owner, "dFf", "feed-forward width; 0: the model's default", ParamValidators.gtEq(0));
    dropout = new DoubleParam(owner, "dropout", "dropout probability in [0, 1)", ParamValidators.inRange(0, 1, true,
        false));
    cycle = new IntParam(owner, "cycle", "period in steps of a learned cycle (CycleNet's RCF; the phase is the step "
        + "on the time grid, or the row number with freq rows); 0: none", ParamValidators.gtEq(0));
    skip = new Param<>(owner, "skip", "none, or nlinear: the network learns the residual of the closed-form nlinear "
        + "forecaster, fitted first on the same windows", ParamValidators.inArray(new String[] {"none", "nlinear"}));
    epochs = new IntParam(owner, "epochs", "most passes over the training windows", ParamValidators.gtEq(1));
    batchSize = new IntParam(owner, "batchSize", "windows per optimizer step (the global batch, over all tasks)",
        ParamValidators.gtEq(1));
    learningRate = new DoubleParam(owner, "learningRate", "AdamW's base learning rate (cosine decay)",
        ParamValidators.gt(0));
    warmupSteps = new IntParam(owner, "warmupSteps", "linear warm-up steps", ParamValidators.gtEq(0));
    weightDecay = new DoubleParam(owner, "weightDecay", "AdamW's decoupled weight decay (matrices only)",
        ParamValidators.gtEq(0));
    clipNorm = new DoubleParam(owner, "clipNorm", "global gradient-norm clip; 0: none", ParamValidators.gtEq(0));
    loss = new Param<>(owner, "loss", "training loss: mse, mae, huber or huber:<delta>",
        new ForecasterParams.Accepts(Loss::parse));
    patience = new IntParam(owner, "patience", "epochs without a better validation MSE before stopping; 0: never",
        ParamValidators.gtEq(0));
    windowsPerEpoch = new IntParam(owner, "windowsPerEpoch", "windows drawn per epoch (a fresh seeded permutation "
        + "each); 0: all", ParamValidators.gtEq(0));
    seed = new LongParam(owner, "seed", "initialization, shuffling and dropout");
    numPartitions = new IntParam(owner, "numPartitions", "partitions the windows are spread over (tasks per "
        + "step); 0: Spark's default parallelism. The weights depend on it only through summation order",
        ParamValidators.gtEq(0));
    checkpointDir = new Param<>(owner, "checkpointDir", "folder (any Hadoop URI) for a checkpoint after every "
        + "epoch; empty: none");
    resume = new BooleanParam(owner, "resume", "continue from the newest checkpoint in checkpointDir");
    precision = new Param<>(owner, "precision", "what the network computes in: float64, float32 (projections, "
        + "Mamba scans and S4D convolutions in float32; weights, gradients and AdamW stay float64) or "
        + "float32-state64 (the Mamba scans keep float64 state)",
        new ForecasterParams.Accepts(v -> Precision.parse("precision", v)));
  }

  @Override
  void setDefaults(DefaultSetter setter) {
    super.setDefaults(setter, "smamba");
    setter.set(dModel, 0);
    setter.set(layers, 0);
    setter.set(dState, 0);
    setter.set(dFf, 0);
    setter.set(dropout, 0.1);
    setter.set(cycle, 0);
    setter.set(skip, "none");
    TrainingConfig d = TrainingConfig.defaults();
    setter.set(epochs, d.epochs());
    setter.set(batchSize, d.batchSize());
    setter.set(learningRate, d.learningRate());
    setter.set(warmupSteps, d.warmupSteps());
    setter.set(weightDecay, d.weightDecay());
    setter.set(clipNorm, d.clipNorm());
    setter.set(loss, d.loss().toString());
    setter.set(patience, d.patience());
    setter.set(windowsPerEpoch, d.windowsPerEpoch());
    setter.set(seed, d.seed());
    setter.set(numPartitions, 0);
    setter.set(checkpointDir, "");
    setter.set(resume, false);
    setter.set(precision, d.precision().toString());
  }

  /** The network these params name. */
  DeepModels spec() {
    return new DeepModels(get(model), size(dModel), size(layers), size(dState), size(dFf), getDouble(dropout),
        getInt(cycle), get(skip).equals("nlinear"));
  }

  private int size(IntParam p) {
    int v = getInt(p);
    return v == 0 ? -1 : v;
  }

  /** The training these params name. */
  TrainingConfig config() {
    return new TrainingConfig(getInt(epochs), getInt(batchSize), getDouble(learningRate), LearningRate.Kind.COSINE,
        getInt(warmupSteps), getDouble(weightDecay), getDouble(clipNorm), Loss.parse(get(loss)), getInt(patience),
        getInt(windowsPerEpoch), getLong(seed), 1, Precision.parse("precision", get(precision)));
  }
}
