// RUN: %python -m phextcc.opt_cli %s -p strength-reduce | filecheck %s

// `j * w + r` (r a non-constant invariant, as `i * W` of an outer loop) becomes an
// iter_arg starting at lb * w + r and growing by step * w; `j * w + 1` keeps its
// constant addition on the reduced `j * w`; `j + 1` alone is left as it is.
// CHECK-LABEL: func.func @k
// CHECK: %[[START:.*]] = arith.muli %[[LB:.*]], %[[W:.*]] : i64
// CHECK: %[[INC:.*]] = arith.muli %[[STEP:.*]], %[[W]] : i64
// CHECK: %[[ROW_START:.*]] = arith.addi %{{.*}}, %[[R:.*]] : i64
// CHECK: scf.for %[[J:.*]] = %[[LB]] to %{{.*}} step %[[STEP]] iter_args(%[[SCALED:.*]] = %[[START]], %[[ROW:.*]] = %[[ROW_START]]) -> (i64, i64) : i64 {
// CHECK-NOT: arith.muli
// CHECK:   phx.load %{{.*}}[%[[ROW]]]
// CHECK:   %[[PLUS1:.*]] = arith.addi %[[SCALED]], %{{.*}} : i64
// CHECK:   phx.load %{{.*}}[%[[PLUS1]]]
// CHECK:   arith.addi %[[J]], %{{.*}} : i64
// CHECK:   %[[NEXT:.*]] = arith.addi %[[SCALED]], %[[INC]] : i64
// CHECK:   %[[NEXT_ROW:.*]] = arith.addi %[[ROW]], %{{.*}} : i64
// CHECK:   scf.yield %[[NEXT]], %[[NEXT_ROW]] : i64, i64
builtin.module {
  func.func @k(%t: !phx.tensor<f32, ["N"]>, %w: i64, %r: i64) {
    %c0 = arith.constant 0 : i64
    %c1 = arith.constant 1 : i64
    %n = phx.sym "N"
    scf.for %j = %c0 to %n step %c1 : i64 {
      %m = arith.muli %j, %w : i64
      %row = arith.addi %m, %r : i64
      %a = phx.load %t[%row] : !phx.tensor<f32, ["N"]> -> f32
      %m1 = arith.addi %m, %c1 : i64
      %b = phx.load %t[%m1] : !phx.tensor<f32, ["N"]> -> f32
      %j1 = arith.addi %j, %c1 : i64
      %s = arith.addf %a, %b : f32
      phx.store %s, %t[%j1] : !phx.tensor<f32, ["N"]>
    }
    func.return
  }
}
