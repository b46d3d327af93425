package org.sparkssm.spark.sql;

import java.util.Map;
import org.apache.spark.sql.SparkSessionExtensions;
import org.apache.spark.sql.catalyst.FunctionIdentifier;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.ExpressionInfo;
import org.apache.spark.sql.classic.UserDefinedFunctionUtils$;
import org.apache.spark.sql.expressions.SparkUserDefinedFunction;
import scala.Function1;
import scala.Option;
import scala.Tuple3;
import scala.collection.immutable.Seq;
import scala.runtime.AbstractFunction1;
import scala.runtime.BoxedUnit;

/**
 * Makes every function of {@link SsmFunctions#CATALOG} a built-in of each session, with no code
 * call: {@code --conf spark.sql.extensions=org.sparkssm.spark.sql.SsmSqlExtensions} (spark-sql CLI,
 * Thrift server, spark-submit, PySpark, any client). Each function is injected with
 * {@link SparkSessionExtensions#injectFunction}; its builder wraps the function's {@code UDFn}
 * instance in the same {@code ScalaUDF} expression that {@code registerJava} builds from the class
 * name, so both routes compute the same values.
 *
 * <p>The builder uses {@code UserDefinedFunctionUtils.toScalaUDF}, public in bytecode but internal
 * to Spark (Spark 4.0's {@code classic} package): a Spark upgrade may move it.
 */
public final class SsmSqlExtensions extends AbstractFunction1<SparkSessionExtensions, BoxedUnit> {
  public SsmSqlExtensions() {}

  @Override
  public BoxedUnit apply(SparkSessionExtensions extensions) {
    for (Map.Entry<String, Class<?>> f : SsmFunctions.CATALOG.entrySet()) {
      extensions.injectFunction(description(f.getKey(), f.getValue()));
    }
    return BoxedUnit.UNIT;
  }

  /** The name, the function's documentation entry (its class) and a builder of its expression. */
  static Tuple3<FunctionIdentifier, ExpressionInfo, Function1<Seq<Expression>, Expression>> description(String name,
      Class<?> udfClass) {
    SparkUserDefinedFunction udf = (SparkUserDefinedFunction) SsmFunctions.udf(name, udfClass);
    String arityDigits = SsmFunctions.udfInterface(udfClass).getSimpleName().substring("UDF".length());
    int arity = Integer.parseInt(arityDigits);
    Function1<Seq<Expression>, Expression> builder = children -> {
      if (children.size() != arity) {
        throw new IllegalArgumentException(String.format("%s: expected %d arguments, got %d", name, arity,
            children.size()));
      }
      return UserDefinedFunctionUtils$.MODULE$.toScalaUDF(udf, children);
    };
    FunctionIdentifier id = new FunctionIdentifier(name, Option.empty(), Option.empty());
    return new Tuple3<>(id, new ExpressionInfo(udfClass.getName(), name), builder);
  }
}
