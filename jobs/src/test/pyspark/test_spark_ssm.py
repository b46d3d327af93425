"""The generated spark_ssm package against the built jobs jar, on real PySpark (classic mode, local[2]).

Run by jobs/src/test/pyspark/run (which lays out SPARK_HOME and the paths) as two fresh processes:

    test_spark_ssm.py fit  WORK   fit, transform, save and load stages and a Pipeline, ForecastEvaluator,
                                  register_functions and SQL; saves the pipeline and its output under WORK
    test_spark_ssm.py load WORK   a new Python process that never imports spark_ssm: PipelineModel.load and
                                  Pipeline.load must find the Python classes of the JVM stages by themselves

Each step asserts; the first failure ends the process non-zero with its message.
"""
import math
import os
import sys

from pyspark.sql import SparkSession

SERIES, ROWS, LOOKBACK, HORIZON = 3, 120, 24, 4


def session():
    work = sys.argv[2]
    flags = os.environ["SPARK_SSM_JVM_FLAGS"] + " -Djava.io.tmpdir=" + os.path.join(work, "tmp")
    os.makedirs(os.path.join(work, "tmp"), exist_ok=True)
    return (SparkSession.builder.master("local[2]").appName("spark-ssm pyspark test")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.local.dir", os.path.join(work, "tmp"))
            .config("spark.driver.extraJavaOptions", flags)
            .config("spark.executor.extraJavaOptions", flags)
            .getOrCreate())


def panel(spark):
    """SERIES series of ROWS rows: a sine of period 24 with its own phase and level, plus a deterministic wobble."""
    rows = [("s%d" % s, t, 5.0 * s + math.sin(2 * math.pi * t / 24 + s) + 0.3 * math.sin(0.7 * t * (s + 1)))
            for s in range(SERIES) for t in range(ROWS)]
    return spark.createDataFrame(rows, "unique_id string, ds long, y double")


def rows(df):
    return sorted(tuple(r) for r in df.collect())


def path(name):
    return os.path.join(sys.argv[2], name)


def fit():
    from pyspark.ml import Pipeline, PipelineModel
    from pyspark.ml.feature import SQLTransformer

    from spark_ssm import ForecastEvaluator, SsmForecaster, SsmForecasterModel, register_functions

    spark = session()
    df = panel(spark)
    forecaster = SsmForecaster(model="nlinear", lookback=LOOKBACK, horizon=HORIZON, validationRows=40,
                               intervalLevels=[0.8])
    model = forecaster.fit(df)
    assert isinstance(model, SsmForecasterModel), type(model)
    assert model.getHorizon() == HORIZON and model.getIntervalLevels() == [0.8], model.extractParamMap()
    future = model.transform(df)
    assert future.columns == ["unique_id", "ds", "step", "forecast", "forecast_lo_80", "forecast_hi_80"], future.columns
    assert future.count() == SERIES * HORIZON, future.count()

    # The stage saved and loaded through its Python class.
    forecaster.save(path("estimator"))
    loaded_estimator = SsmForecaster.load(path("estimator"))
    assert loaded_estimator.uid == forecaster.uid and loaded_estimator.getLookback() == LOOKBACK
    model.write().overwrite().save(path("model"))
    loaded = SsmForecasterModel.load(path("model"))
    assert isinstance(loaded, SsmForecasterModel) and loaded.uid == model.uid
    assert rows(loaded.transform(df)) == rows(future), "the loaded model forecasts differently"

    # A Pipeline with a Spark stage and ours: saved here, loaded by the fresh process of `load`.
    pipeline = Pipeline(stages=[SQLTransformer(statement="SELECT unique_id, ds, y * 2.0 AS y FROM __THIS__"),
                                SsmForecaster(model="nlinear", lookback=LOOKBACK, horizon=HORIZON)])
    pipeline.save(path("pipeline"))
    fitted = pipeline.fit(df)
    fitted.save(path("pipeline-model"))
    fitted.transform(df).write.parquet(path("pipeline-output"))
    assert rows(PipelineModel.load(path("pipeline-model")).transform(df)) == rows(fitted.transform(df))

    # ForecastEvaluator on forecasts of each series' last H rows, against the metrics computed here.
    origin = ROWS - HORIZON - 1
    history = df.filter("ds <= %d" % origin)
    scored = (model.transform(history).alias("f")
              .join(df.alias("a"), ["unique_id", "ds"])
              .join(df.filter("ds = %d" % origin).selectExpr("unique_id", "y AS naive"), "unique_id")
              .selectExpr("unique_id", "ds", "step", "a.y AS actual", "forecast", "naive", "forecast_lo_80",
                          "forecast_hi_80"))
    local = scored.collect()
    assert len(local) == SERIES * HORIZON, len(local)
    errors = [r.actual - r.forecast for r in local]
    expected = {
        "mse": sum(e * e for e in errors) / len(errors),
        "mae": sum(abs(e) for e in errors) / len(errors),
        "rmse": math.sqrt(sum(e * e for e in errors) / len(errors)),
        "mase": sum(abs(e) for e in errors) / sum(abs(r.actual - r.naive) for r in local),
    }
    for metric, value in expected.items():
        got = ForecastEvaluator(metricName=metric).evaluate(scored)
        assert abs(got - value) <= 1e-9 * max(1.0, abs(value)), (metric, got, value)
    coverage = ForecastEvaluator(metricName="coverage", intervalLevel=0.8)
    inside = sum(1 for r in local if r.forecast_lo_80 <= r.actual <= r.forecast_hi_80)
    assert coverage.evaluate(scored) == inside / len(local), (coverage.evaluate(scored), inside)
    assert coverage.isLargerBetter() is False
    coverage.save(path("evaluator"))
    loaded_evaluator = ForecastEvaluator.load(path("evaluator"))
    assert loaded_evaluator.getMetricName() == "coverage" and loaded_evaluator.getIntervalLevel() == 0.8
    assert loaded_evaluator.evaluate(scored) == coverage.evaluate(scored)
    try:
        ForecastEvaluator(labelCol="load").evaluate(scored)
        raise AssertionError("a missing label column was accepted")
    except Exception as e:  # py4j's IllegalArgumentException, converted by PySpark
        assert "labelCol 'load': expected a column of the input" in str(e), str(e)

    # The SQL functions, registered by their JVM classes.
    register_functions(spark)
    scan = spark.sql("SELECT ssm_scan(array(1.0, 0.0, 0.0), array(0.9), array(1.0), array(1.0)) AS h").first().h
    assert [round(v, 12) for v in scan] == [1.0, 0.9, 0.81], scan
    spark.stop()


def load():
    assert "spark_ssm" not in sys.modules
    from pyspark.ml import Pipeline, PipelineModel

    spark = session()
    df = panel(spark)
    # PySpark derives each stage's Python class from its JVM class name (JavaParams._from_java).
    fitted = PipelineModel.load(path("pipeline-model"))
    stage = fitted.stages[1]
    assert type(stage).__name__ == "SsmForecasterModel", type(stage)
    assert stage.getHorizon() == HORIZON and stage.getLookback() == LOOKBACK, stage.extractParamMap()
    assert rows(fitted.transform(df)) == rows(spark.read.parquet(path("pipeline-output"))), "loaded pipeline differs"
    pipeline = Pipeline.load(path("pipeline"))
    assert type(pipeline.getStages()[1]).__name__ == "SsmForecaster", pipeline.getStages()
    assert rows(pipeline.fit(df).transform(df)) == rows(fitted.transform(df))
    spark.stop()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("fit", "load"):
        sys.exit("usage: test_spark_ssm.py fit|load WORK_DIR")
    {"fit": fit, "load": load}[sys.argv[1]]()
    print("test_spark_ssm.py %s: passed" % sys.argv[1])
