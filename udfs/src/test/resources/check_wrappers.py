"""Imports the generated spark_ssm package against the pyspark stub and exercises its Python logic.
Run by PythonWrappersTest as: python3 check_wrappers.py (with PYTHONPATH = generated package + stub)."""
import spark_ssm
from spark_ssm import ForecastEvaluator, SsmFeatures, SsmForecaster, SsmForecasterModel, register_functions
from pyspark.ml.wrapper import JavaParams

f = SsmFeatures(model="s4d-lin", stateSize=8, inputCols=["a", "b"])
assert JavaParams.created[-1] == ("org.sparkssm.spark.ml.SsmFeatures", (f.uid,)), JavaParams.created
assert f.getModel() == "s4d-lin" and f.getStateSize() == 8 and f.getInputCols() == ["a", "b"]
assert f.getSeriesCol() == "unique_id" and f.getLastStepOnly() is False and f.getTheta() == 100.0
f.setTheta(24)
assert f.getTheta() == 24.0
try:
    f.setLastStepOnly("yes")
    raise AssertionError("a bool param took a string")
except TypeError:
    pass

e = SsmForecaster(horizon=12, intervalLevels=[0.8, 0.95])
assert e.getHorizon() == 12 and e.getIntervalLevels() == [0.8, 0.95] and e.getModel() == "ssm"
assert len(e.getLambdas()) == 10
m = e._create_model(("java", "fitted"))
assert isinstance(m, SsmForecasterModel) and m._java_obj == ("java", "fitted") and m.transferred
assert m.getHorizon() == 24  # defaults only: the JVM model's values arrive by _transfer_params_from_java

v = ForecastEvaluator(metricName="coverage", intervalLevel=0.8)
assert JavaParams.created[-1] == ("org.sparkssm.spark.ml.ForecastEvaluator", (v.uid,)), JavaParams.created
assert v.getMetricName() == "coverage" and v.getIntervalLevel() == 0.8 and v.getLabelCol() == "actual"
assert v.getPredictionCol() == "forecast" and v.getNaiveCol() == "naive"
v.setMetricName("mase")
assert v.getMetricName() == "mase"

for cls in (SsmFeatures, SsmForecaster, SsmForecasterModel, ForecastEvaluator):
    assert cls.read().java_class == cls._java_class, cls

# PySpark resolves a JVM stage's Python class from its JVM class name (Pipeline.load, fit).
module = __import__("org.sparkssm.spark.ml", fromlist=["SsmFeatures"])
for cls in (SsmFeatures, SsmForecaster, SsmForecasterModel, ForecastEvaluator):
    assert getattr(module, cls.__name__) is cls, cls


class FakeUdf:
    def __init__(self):
        self.registered = []

    def registerJavaFunction(self, name, java_class, return_type):
        self.registered.append((name, java_class, return_type))


class FakeSpark:
    udf = FakeUdf()


register_functions(FakeSpark)
assert ("ssm_scan", "org.sparkssm.spark.sql.SsmScanUdf", "array<double>") in FakeSpark.udf.registered
assert len(FakeSpark.udf.registered) == len(spark_ssm.functions.FUNCTIONS) == 4
assert ("ssm_forecast", "org.sparkssm.spark.sql.SsmForecastUdf", "array<double>") in FakeSpark.udf.registered
print("ok")
