"""A minimal stand-in for PySpark (not installable here): just what spark_ssm's generated wrappers
touch, so the tests can import them and exercise their Python logic without a JVM."""
import functools


def keyword_only(func):
    @functools.wraps(func)
    def wrapper(self, *args, **kwargs):
        if args:
            raise TypeError("Method %s forces keyword arguments." % func.__name__)
        self._input_kwargs = kwargs
        return func(self, **kwargs)
    return wrapper
