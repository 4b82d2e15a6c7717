// RUN: %python -m phextcc.opt_cli %s -p phx-licm | filecheck %s

// phx-licm hoists pure invariant arithmetic and shape symbols, but no load (a store in
// the loop may write the same element, and the loop may run zero times while the
// load's index check would fail) and no division or remainder by a value that may be
// zero (it would trap even when the loop does not run; xDSL's licm hoists remsi).
// CHECK-LABEL: func.func @k
// CHECK: phx.sym "W"
// CHECK: arith.muli %[[A:.*]], %[[B:.*]] : i64
// CHECK: arith.divsi %{{.*}}, %{{.*}} : i64
// CHECK: scf.for
// CHECK: phx.load
// CHECK: arith.divsi %[[A]], %[[B]] : i64
// CHECK: arith.remsi %[[A]], %[[B]] : i64
// CHECK: phx.store
builtin.module {
  func.func @k(%t: !phx.tensor<i64, ["N"]>, %a: i64, %b: i64) {
    %c0 = arith.constant 0 : i64
    %c1 = arith.constant 1 : i64
    %c4 = arith.constant 4 : i64
    %n = phx.sym "N"
    scf.for %i = %c0 to %n step %c1 : i64 {
      %w = phx.sym "W"
      %m = arith.muli %a, %b : i64
      %safe = arith.divsi %a, %c4 : i64
      %v = phx.load %t[%c0] : !phx.tensor<i64, ["N"]> -> i64
      %q = arith.divsi %a, %b : i64
      %rem = arith.remsi %a, %b : i64
      %s0 = arith.addi %v, %rem : i64
      %s1 = arith.addi %s0, %q : i64
      %s2 = arith.addi %s1, %m : i64
      %s3 = arith.addi %s2, %w : i64
      %s4 = arith.addi %s3, %safe : i64
      phx.store %s4, %t[%i] : !phx.tensor<i64, ["N"]>
    }
    func.return
  }
}
