from pyspark.ml.param import Params


class JavaParams(Params):
    created = []

    def _new_java_obj(self, java_class, *args):
        JavaParams.created.append((java_class, args))
        return ("java", java_class, args)

    def _transfer_params_from_java(self):
        self.transferred = True


class JavaTransformer(JavaParams):
    pass


class JavaEstimator(JavaParams):
    pass


class JavaModel(JavaParams):
    def __init__(self, java_model=None):
        super().__init__()
        self._java_obj = java_model
