class TypeConverters:
    @staticmethod
    def toInt(v):
        return int(v)

    @staticmethod
    def toFloat(v):
        return float(v)

    @staticmethod
    def toBoolean(v):
        if not isinstance(v, bool):
            raise TypeError("expected a bool, got %r" % (v,))
        return v

    @staticmethod
    def toString(v):
        if not isinstance(v, str):
            raise TypeError("expected a str, got %r" % (v,))
        return v

    @staticmethod
    def toListString(v):
        return [TypeConverters.toString(x) for x in v]

    @staticmethod
    def toListFloat(v):
        return [float(x) for x in v]


class Param:
    def __init__(self, parent, name, doc, typeConverter=None):
        self.parent, self.name, self.doc, self.typeConverter = parent, name, doc, typeConverter


class Params:
    _uid_counter = 0

    @staticmethod
    def _dummy():
        return "undefined"

    def __init__(self):
        Params._uid_counter += 1
        self.uid = "%s_%d" % (type(self).__name__, Params._uid_counter)
        self._paramMap = {}
        self._defaultParamMap = {}

    def _param(self, name):
        p = getattr(type(self), name, None)
        if not isinstance(p, Param):
            raise AttributeError("%s has no param %s" % (type(self).__name__, name))
        return p

    def _setDefault(self, **kwargs):
        for name, value in kwargs.items():
            self._defaultParamMap[name] = self._param(name).typeConverter(value)
        return self

    def _set(self, **kwargs):
        for name, value in kwargs.items():
            if value is not None:
                self._paramMap[name] = self._param(name).typeConverter(value)
        return self

    def getOrDefault(self, param):
        name = param.name if isinstance(param, Param) else param
        return self._paramMap.get(name, self._defaultParamMap.get(name))
