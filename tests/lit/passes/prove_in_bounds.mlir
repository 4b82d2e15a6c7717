// RUN: %python -m phextcc.opt_cli %s -p prove-in-bounds | filecheck %s

// Proven: `for i in 0..N` into extent N; `i - 1`, `i + 1` for `i in 1..H-1` into
// extent H; a constant into a literal extent; `min(j0 + 16, W)` as a loop bound; a
// triangular inner loop `for j in 0..i`; `i % 4` into extent 4.
// CHECK-LABEL: func.func @proven
// CHECK-COUNT-7: {in_bounds}
// CHECK-NOT: {in_bounds}
// CHECK: func.return
builtin.module {
  func.func @proven(%a: !phx.tensor<f32, ["N"]>, %u: !phx.tensor<f32, ["H", "W"]>,
                    %lit: !phx.tensor<f32, [4]>) {
    %c0 = arith.constant 0 : i64
    %c1 = arith.constant 1 : i64
    %c3 = arith.constant 3 : i64
    %c4 = arith.constant 4 : i64
    %c16 = arith.constant 16 : i64
    %n = phx.sym "N"
    %h = phx.sym "H"
    %w = phx.sym "W"
    %hm1 = arith.subi %h, %c1 : i64
    scf.for %i = %c0 to %n step %c1 : i64 {
      %x = phx.load %a[%i] : !phx.tensor<f32, ["N"]> -> f32
      scf.for %j = %c0 to %i step %c1 : i64 {
        phx.store %x, %a[%j] : !phx.tensor<f32, ["N"]>
      }
      %r = arith.remsi %i, %c4 : i64
      phx.store %x, %lit[%r] : !phx.tensor<f32, [4]>
    }
    scf.for %i = %c1 to %hm1 step %c1 : i64 {
      %up = arith.subi %i, %c1 : i64
      %down = arith.addi %i, %c1 : i64
      scf.for %j0 = %c0 to %w step %c16 : i64 {
        %j0_end = arith.addi %j0, %c16 : i64
        %end = arith.minsi %j0_end, %w : i64
        scf.for %j = %j0 to %end step %c1 : i64 {
          %y = phx.load %u[%up, %j] : !phx.tensor<f32, ["H", "W"]> -> f32
          phx.store %y, %u[%down, %j] : !phx.tensor<f32, ["H", "W"]>
        }
      }
    }
    %z = phx.load %lit[%c3] : !phx.tensor<f32, [4]> -> f32
    phx.store %z, %lit[%c0] : !phx.tensor<f32, [4]>
    func.return
  }

// Not provable, so left checked: a constant into a symbolic extent (N may be 0), an
// index past the end (`i + 1` with `i < N`), a negative one, a loaded index (read at a
// constant index, itself unproven), a loop
// variable bounded by an iter_arg, an index into the wrong axis (H vs W), a constant
// past a literal extent, `i % 4` when i may be negative, and a loop with a run-time
// step from an argument that may be negative.
// CHECK-LABEL: func.func @unproven
// CHECK-NOT: in_bounds
// CHECK: func.return
  func.func @unproven(%a: !phx.tensor<f32, ["N"]>, %u: !phx.tensor<f32, ["H", "W"]>,
                      %ids: !phx.tensor<i64, ["N"]>, %lit: !phx.tensor<f32, [4]>,
                      %s: i64) {
    %c0 = arith.constant 0 : i64
    %c1 = arith.constant 1 : i64
    %c4 = arith.constant 4 : i64
    %m1 = arith.constant -1 : i64
    %n = phx.sym "N"
    %h = phx.sym "H"
    %x = phx.load %a[%c0] : !phx.tensor<f32, ["N"]> -> f32
    scf.for %i = %c0 to %n step %c1 : i64 {
      %next = arith.addi %i, %c1 : i64
      phx.store %x, %a[%next] : !phx.tensor<f32, ["N"]>
      phx.store %x, %a[%m1] : !phx.tensor<f32, ["N"]>
      %id = phx.load %ids[%c1] : !phx.tensor<i64, ["N"]> -> i64
      phx.store %x, %a[%id] : !phx.tensor<f32, ["N"]>
    }
    %last = scf.for %i = %c0 to %n step %c1 iter_args(%k = %c0) -> (i64) : i64 {
      scf.for %j = %c0 to %k step %c1 : i64 {
        phx.store %x, %a[%j] : !phx.tensor<f32, ["N"]>
      }
      scf.yield %i : i64
    }
    scf.for %i = %c0 to %h step %c1 : i64 {
      phx.store %x, %u[%c0, %i] : !phx.tensor<f32, ["H", "W"]>
    }
    phx.store %x, %lit[%c4] : !phx.tensor<f32, [4]>
    %neg = arith.subi %c0, %n : i64
    scf.for %i = %neg to %c4 step %c1 : i64 {
      %r = arith.remsi %i, %c4 : i64
      phx.store %x, %lit[%r] : !phx.tensor<f32, [4]>
    }
    %k = phx.num_sentrons
    scf.for %i = %s to %n step %k : i64 {
      phx.store %x, %a[%i] : !phx.tensor<f32, ["N"]>
    }
    func.return
  }

// A cyclic split over the sentrons, `for i in sentron_id()..N step num_sentrons()`:
// a sentron's number is at least 0, and a step known only at run time is positive
// whenever the loop runs (the lowering guards it), so i lies in [0, N - 1]. The same
// loop from an argument (above, in @unproven) may start below 0.
// CHECK-LABEL: func.func @cyclic
// CHECK-COUNT-2: {in_bounds}
// CHECK-NOT: {in_bounds}
// CHECK: func.return
  func.func @cyclic(%a: !phx.tensor<f32, ["N"]>, %b: !phx.tensor<f32, ["N"]>) {
    %s = phx.sentron_id
    %k = phx.num_sentrons
    %n = phx.sym "N"
    scf.for %i = %s to %n step %k : i64 {
      %x = phx.load %a[%i] : !phx.tensor<f32, ["N"]> -> f32
      phx.store %x, %b[%i] : !phx.tensor<f32, ["N"]>
    }
    func.return
  }
}
