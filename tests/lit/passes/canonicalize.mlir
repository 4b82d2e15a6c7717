// RUN: %python -m phextcc.opt_cli %s -p phx-canonicalize | filecheck %s

// Integer folding wraps; a division by a non-zero constant folds (truncating toward
// zero, INT_MIN / -1 = INT_MIN); a division by zero is kept so that it traps, even
// though its result is unused.
// CHECK-LABEL: func.func @ints
// CHECK-DAG: %[[WRAPPED:.*]] = arith.constant -2147483648 : i32
// CHECK-DAG: %[[QUOTIENT:.*]] = arith.constant -3 : i64
// CHECK-DAG: %[[REMAINDER:.*]] = arith.constant -1 : i64
// CHECK-DAG: %[[MIN:.*]] = arith.constant -9223372036854775808 : i64
// CHECK: %[[TRAP:.*]] = arith.divsi %{{.*}}, %{{.*}} : i64
// CHECK-NOT: arith.remsi
// CHECK: phx.store %[[WRAPPED]]
// CHECK: phx.store %[[QUOTIENT]]
// CHECK: phx.store %[[REMAINDER]]
// CHECK: phx.store %[[MIN]]
builtin.module {
  func.func @ints(%o32: !phx.tensor<i32, [4]>, %o: !phx.tensor<i64, [4]>, %v: i64) {
    %big = arith.constant 2147483647 : i32
    %one32 = arith.constant 1 : i32
    %wrapped = arith.addi %big, %one32 : i32
    %seven = arith.constant -7 : i64
    %two = arith.constant 2 : i64
    %q = arith.divsi %seven, %two : i64
    %r = arith.remsi %seven, %two : i64
    %min = arith.constant -9223372036854775808 : i64
    %m1 = arith.constant -1 : i64
    %qmin = arith.divsi %min, %m1 : i64
    %zero = arith.constant 0 : i64
    %trap = arith.divsi %two, %zero : i64
    %unit = arith.remsi %v, %m1 : i64
    %i0 = arith.constant 0 : i64
    phx.store %wrapped, %o32[%i0] : !phx.tensor<i32, [4]>
    phx.store %q, %o[%i0] : !phx.tensor<i64, [4]>
    phx.store %r, %o[%i0] : !phx.tensor<i64, [4]>
    phx.store %qmin, %o[%i0] : !phx.tensor<i64, [4]>
    func.return
  }

// Floats fold in their own precision (0.1 + 0.2 in f32), overflow to infinity, but a
// NaN result is left to the machine; no reassociation.
// CHECK-LABEL: func.func @floats
// CHECK-DAG: arith.constant 0x7f800000 : f32
// CHECK-DAG: arith.constant 3.000000e-01 : f32
// CHECK-DAG: arith.divf
// CHECK: %[[X1:.*]] = arith.addf %{{.*}}, %{{.*}} : f32
// CHECK: arith.addf %[[X1]], %{{.*}} : f32
  func.func @floats(%o: !phx.tensor<f32, [4]>, %x: f32) {
    %a = arith.constant 3.0e+38 : f32
    %inf = arith.mulf %a, %a : f32
    %p1 = arith.constant 0.1 : f32
    %p2 = arith.constant 0.2 : f32
    %s = arith.addf %p1, %p2 : f32
    %z = arith.constant 0.0 : f32
    %nan = arith.divf %z, %z : f32
    %x1 = arith.addf %x, %p1 : f32
    %x2 = arith.addf %x1, %p2 : f32
    %i0 = arith.constant 0 : i64
    phx.store %inf, %o[%i0] : !phx.tensor<f32, [4]>
    phx.store %s, %o[%i0] : !phx.tensor<f32, [4]>
    phx.store %nan, %o[%i0] : !phx.tensor<f32, [4]>
    phx.store %x2, %o[%i0] : !phx.tensor<f32, [4]>
    func.return
  }

// Constant offsets of index arithmetic combine: (i + 1) - 1 is i, (i + 2) + 3 is i + 5.
// An unused checked load is kept (its index check may fail); a dead pure op is not.
// CHECK-LABEL: func.func @offsets
// CHECK: phx.load %{{.*}}[%[[I:[a-z0-9_]+]]]
// CHECK: %[[FIVE:.*]] = arith.constant 5 : i64
// CHECK: %[[SUM:.*]] = arith.addi %[[I]], %[[FIVE]] : i64
// CHECK: phx.store %{{.*}}, %{{.*}}[%[[SUM]]]
// CHECK-NOT: arith.muli
  func.func @offsets(%t: !phx.tensor<f32, ["N"]>, %i: i64) {
    %c1 = arith.constant 1 : i64
    %c2 = arith.constant 2 : i64
    %c3 = arith.constant 3 : i64
    %a = arith.addi %i, %c1 : i64
    %b = arith.subi %a, %c1 : i64
    %dead_load = phx.load %t[%b] : !phx.tensor<f32, ["N"]> -> f32
    %dead_mul = arith.muli %i, %c3 : i64
    %d = arith.addi %i, %c2 : i64
    %e = arith.addi %d, %c3 : i64
    %v = arith.constant 1.0 : f32
    phx.store %v, %t[%e] : !phx.tensor<f32, ["N"]>
    func.return
  }
}
