from pyspark.ml.wrapper import JavaParams


class JavaEvaluator(JavaParams):
    pass
