// RUN: %python -m phextcc.opt_cli %s -p phx-cse,phx-dce | filecheck %s

// Identical pure ops merge; identical loads merge only with no store in between; an
// unused checked load or a division that may trap survives, an unused multiplication,
// a division by a non-zero constant and a load proven in bounds do not.
// CHECK-LABEL: func.func @k
// CHECK: %[[A:.*]] = arith.addi %[[I:.*]], %[[I]] : i64
// CHECK-NOT: arith.addi
// CHECK: %[[L1:.*]] = phx.load %[[T:.*]][%[[A]]]
// CHECK-NEXT: arith.addf %[[L1]], %[[L1]] : f32
// CHECK-NEXT: phx.store %{{.*}}, %[[T]][%[[I]]]
// CHECK-NEXT: phx.load %[[T]][%[[A]]]
// CHECK: phx.load %[[T]][%[[I]]] :
// CHECK: arith.divsi %[[I]], %[[I]]
// CHECK-NOT: arith.muli
// CHECK-NOT: arith.divsi
// CHECK-NOT: in_bounds
// CHECK: func.return
builtin.module {
  func.func @k(%t: !phx.tensor<f32, ["N"]>, %i: i64) {
    %a = arith.addi %i, %i : i64
    %b = arith.addi %i, %i : i64
    %l1 = phx.load %t[%a] : !phx.tensor<f32, ["N"]> -> f32
    %l2 = phx.load %t[%b] : !phx.tensor<f32, ["N"]> -> f32
    %s = arith.addf %l1, %l2 : f32
    phx.store %s, %t[%i] : !phx.tensor<f32, ["N"]>
    %l3 = phx.load %t[%a] : !phx.tensor<f32, ["N"]> -> f32
    phx.store %l3, %t[%i] : !phx.tensor<f32, ["N"]>
    %unused_load = phx.load %t[%i] : !phx.tensor<f32, ["N"]> -> f32
    %proven = phx.load %t[%i] {in_bounds} : !phx.tensor<f32, ["N"]> -> f32
    %unused_div = arith.divsi %i, %i : i64
    %three = arith.constant 3 : i64
    %safe_div = arith.divsi %i, %three : i64
    %unused_mul = arith.muli %i, %i : i64
    func.return
  }
}
