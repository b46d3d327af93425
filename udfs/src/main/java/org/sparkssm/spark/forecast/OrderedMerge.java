package org.sparkssm.spark.forecast;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.Function2;
import scala.Tuple2;

/**
 * A tree reduction of one value per partition that merges in partition order at every level, so
 * a floating-point sum comes out bit-identical from run to run. {@code treeAggregate} is the same
 * tree, but its last step folds the partial results in the order tasks finish, which changes the
 * rounding of a sum of statistics with the cluster's timing.
 */
final class OrderedMerge {
  private OrderedMerge() {}

  /** Partial results merged per level: bounds what the driver (or one task) holds at once. */
  static final int FAN_IN = 16;

  static <T extends Serializable> T reduce(JavaRDD<T> onePerPartition, Function2<T, T, T> merge) throws Exception {
    JavaPairRDD<Integer, T> level = onePerPartition.mapPartitionsWithIndex((index, it) -> {
      List<Tuple2<Integer, T>> out = new ArrayList<>();
      while (it.hasNext()) {
        out.add(new Tuple2<>(index, it.next()));
      }
      return out.iterator();
    }, true).mapToPair(t -> t);
    long items = onePerPartition.getNumPartitions();
    while (items > FAN_IN) {
      int groups = (int) ((items + FAN_IN - 1) / FAN_IN);
      level = level.mapToPair(t -> new Tuple2<>(t._1 / FAN_IN, t)).groupByKey(groups)
          .mapValues(members -> mergeInOrder(members, merge));
      items = groups;
    }
    List<Tuple2<Integer, T>> last = new ArrayList<>(level.collect());
    return mergeInOrder(last, merge);
  }

  private static <T> T mergeInOrder(Iterable<Tuple2<Integer, T>> members, Function2<T, T, T> merge) throws Exception {
    List<Tuple2<Integer, T>> sorted = new ArrayList<>();
    members.forEach(sorted::add);
    sorted.sort(Comparator.comparingInt(t -> t._1));
    T acc = null;
    for (Tuple2<Integer, T> t : sorted) {
      acc = acc == null ? t._2 : merge.call(acc, t._2);
    }
    return acc;
  }
}
