class JavaMLReader:
    def __init__(self, clazz):
        self._clazz = clazz
        self.java_class = self._java_loader_class(clazz)

    @classmethod
    def _java_loader_class(cls, clazz):
        return clazz.__module__.replace("pyspark", "org.apache.spark") + "." + clazz.__name__


class JavaMLReadable:
    pass


class JavaMLWritable:
    pass
