// RUN: %python -m phextcc.opt_cli %s -p "unroll-inner{factor=2}" | filecheck %s
// RUN: %python -m phextcc.opt_cli %s -p "unroll-inner{factor=3}" | filecheck %s --check-prefix=THREE

// An inner loop with a run-time trip count: a main loop of step 2 holding two copies of
// the body (the second at i + 1, fed by the first's iter_args, effects in order),
// then the remainder loop from where the main loop stopped, carrying its results.
// The outer loop is not innermost and stays as it is.
// CHECK-LABEL: func.func @k
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[M:.*]] step %{{.*}} : i64 {
// CHECK:   %[[SPAN:.*]] = arith.subi %[[N:.*]], %[[LB:.*]] : i64
// CHECK:   %[[RUNS:.*]] = arith.cmpi slt, %[[LB]], %[[N]] : i64
// CHECK:   %[[NO_WRAP:.*]] = arith.cmpi sgt, %[[SPAN]], %{{.*}} : i64
// CHECK:   arith.andi %[[RUNS]], %[[NO_WRAP]] : i1
// CHECK:   %[[END:.*]] = arith.addi %[[LB]], %{{.*}} : i64
// CHECK:   %[[TWO:.*]] = arith.constant 2 : i64
// CHECK:   %[[MAIN:.*]] = scf.for %[[I:.*]] = %[[LB]] to %[[END]] step %[[TWO]] iter_args(%[[ACC:.*]] = %{{.*}}) -> (f32) : i64 {
// CHECK:     %[[X0:.*]] = phx.load %{{.*}}[%{{.*}}, %[[I]]]
// CHECK:     %[[S0:.*]] = arith.addf %[[ACC]], %[[X0]] : f32
// CHECK:     phx.store %[[S0]], %{{.*}}[%[[I]]]
// CHECK:     %[[I1:.*]] = arith.addi %[[I]], %{{.*}} : i64
// CHECK:     %[[X1:.*]] = phx.load %{{.*}}[%{{.*}}, %[[I1]]]
// CHECK:     %[[S1:.*]] = arith.addf %[[S0]], %[[X1]] : f32
// CHECK:     phx.store %[[S1]], %{{.*}}[%[[I1]]]
// CHECK:     scf.yield %[[S1]] : f32
// CHECK:   }
// CHECK:   scf.for %[[R:.*]] = %[[END]] to %[[N]] step %{{.*}} iter_args(%{{.*}} = %[[MAIN]]) -> (f32) : i64 {
// CHECK:     phx.load %{{.*}}[%{{.*}}, %[[R]]]

// THREE: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// THREE-COUNT-3: phx.store
// THREE: scf.yield
builtin.module {
  func.func @k(%t: !phx.tensor<f32, ["M", "N"]>, %o: !phx.tensor<f32, ["N"]>) {
    %c0 = arith.constant 0 : i64
    %c1 = arith.constant 1 : i64
    %zero = arith.constant 0.0 : f32
    %m = phx.sym "M"
    %n = phx.sym "N"
    scf.for %r = %c0 to %m step %c1 : i64 {
      %total = scf.for %i = %c1 to %n step %c1 iter_args(%acc = %zero) -> (f32) : i64 {
        %x = phx.load %t[%r, %i] : !phx.tensor<f32, ["M", "N"]> -> f32
        %s = arith.addf %acc, %x : f32
        phx.store %s, %o[%i] : !phx.tensor<f32, ["N"]>
        scf.yield %s : f32
      }
    }
    func.return
  }
}
