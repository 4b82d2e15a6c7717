// RUN: %python -m phextcc.opt_cli %s -p "prefetch-next-row" | filecheck %s
// RUN: %python -m phextcc.opt_cli %s -p "prefetch-next-row{enabled=false}" | filecheck %s --check-prefix=OFF
// RUN: %python -m phextcc.opt_cli %s -p "prove-in-bounds,prefetch-next-row" | filecheck %s --check-prefix=PROVEN

// Row by row, two inner loops reading row r of x (a max, then a sum): before the first
// of them, the first lines of row r + 1 are prefetched when the enclosing loop has a
// next iteration (r + 1 < H: its row index is then in range, as every iteration's is).
// The loads carry no in_bounds mark here, so the walk is kept inside the row by W: it
// starts at the inner loop's lb (a constant here: 1) and stops at the row's end or
// after the lines of the first d iterations (7 lines, 112 elements, for this body),
// whichever comes first. The second loop reads the same row: nothing more. The lines
// go to L2 (level 1), and the walk is marked as running fewer than 8 trips per entry.
// CHECK-LABEL: func.func @rows
// CHECK:      scf.for %[[R:.*]] = %{{.*}} to %[[H:.*]] step %{{.*}} : i64 {
// CHECK-NEXT:   %[[ONE:.*]] = arith.constant 1 : i64
// CHECK-NEXT:   %[[NEXT:.*]] = arith.addi %[[R]], %[[ONE]] : i64
// CHECK-NEXT:   %[[HAS:.*]] = arith.cmpi slt, %[[NEXT]], %[[H]] : i64
// CHECK-NEXT:   scf.if %[[HAS]] {
// CHECK-NEXT:     %[[START:.*]] = arith.constant 1 : i64
// CHECK-NEXT:     %[[W:.*]] = phx.sym "W"
// CHECK-NEXT:     %[[LINES:.*]] = arith.constant 112 : i64
// CHECK-NEXT:     %[[SPAN:.*]] = arith.addi %[[START]], %[[LINES]] : i64
// CHECK-NEXT:     %[[STOP:.*]] = arith.minsi %[[SPAN]], %[[W]] : i64
// CHECK-NEXT:     %[[LINE:.*]] = arith.constant 16 : i64
// CHECK-NEXT:     scf.for %[[C:.*]] = %[[START]] to %[[STOP]] step %[[LINE]] : i64 {
// CHECK-NEXT:       phx.prefetch %{{.*}}[%[[NEXT]], %[[C]]] {in_bounds, level = #builtin.int<1>} : !phx.tensor<f32, ["H", "W"]>
// CHECK-NEXT:     } {phx.trips_below = #builtin.int<8>}
// CHECK-NEXT:   }
// CHECK-NEXT:   scf.for
// CHECK-NOT:    phx.prefetch
// CHECK:      func.return
func.func @rows(%x: !phx.tensor<f32, ["H", "W"]>, %out: !phx.tensor<f32, ["H"]>) {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %zero = arith.constant 0.0 : f32
  %h = phx.sym "H"
  %w = phx.sym "W"
  scf.for %r = %c0 to %h step %c1 : i64 {
    %m = scf.for %i = %c1 to %w step %c1 iter_args(%acc = %zero) -> (f32) : i64 {
      %v = phx.load %x[%r, %i] : !phx.tensor<f32, ["H", "W"]> -> f32
      %n = arith.maximumf %acc, %v : f32
      scf.yield %n : f32
    }
    %s = scf.for %i = %c0 to %w step %c1 iter_args(%acc = %m) -> (f32) : i64 {
      %v = phx.load %x[%r, %i] : !phx.tensor<f32, ["H", "W"]> -> f32
      %n = arith.addf %acc, %v : f32
      scf.yield %n : f32
    }
    phx.store %s, %out[%r] : !phx.tensor<f32, ["H"]>
  }
  func.return
}

// A stencil reading rows r - 1, r and r + 1 of u: rows r and r + 1 are read in this
// iteration already, so only row r + 2 is prefetched, once (from the stream of row
// r + 1, whose lowest offset is 0), when r + 1 < H - 1. The walk starts at max(lo, 0):
// the loop's lower bound is an argument.
// CHECK-LABEL: func.func @stencil
// CHECK:      scf.for %[[R:.*]] = %{{.*}} to %[[UB:.*]] step %{{.*}} : i64 {
// CHECK:        %[[SO:.*]] = arith.constant 1 : i64
// CHECK-NEXT:   %[[FOLLOWING:.*]] = arith.addi %[[R]], %[[SO]] : i64
// CHECK-NEXT:   %[[HAS:.*]] = arith.cmpi slt, %[[FOLLOWING]], %[[UB]] : i64
// CHECK-NEXT:   scf.if %[[HAS]] {
// CHECK-NEXT:     %[[ONE:.*]] = arith.constant 1 : i64
// CHECK-NEXT:     %[[NEXT:.*]] = arith.addi %[[FOLLOWING]], %[[ONE]] : i64
// CHECK-NEXT:     %[[Z:.*]] = arith.constant 0 : i64
// CHECK-NEXT:     %{{.*}} = arith.maxsi %lo, %[[Z]] : i64
// CHECK:          phx.prefetch %{{.*}}[%[[NEXT]], %{{.*}}] {in_bounds, level = #builtin.int<1>}
// CHECK-NOT:    phx.prefetch
// CHECK:      func.return
func.func @stencil(%u: !phx.tensor<f32, ["H", "W"]>, %o: !phx.tensor<f32, ["H", "W"]>, %lo: i64) {
  %c1 = arith.constant 1 : i64
  %m1 = arith.constant -1 : i64
  %h = phx.sym "H"
  %w = phx.sym "W"
  %hm1 = arith.subi %h, %c1 : i64
  %wm1 = arith.subi %w, %c1 : i64
  scf.for %r = %c1 to %hm1 step %c1 : i64 {
    %up = arith.subi %r, %c1 : i64
    %down = arith.addi %r, %c1 : i64
    scf.for %i = %lo to %wm1 step %c1 : i64 {
      %left = arith.addi %i, %m1 : i64
      %a = phx.load %u[%up, %i] : !phx.tensor<f32, ["H", "W"]> -> f32
      %b = phx.load %u[%r, %left] : !phx.tensor<f32, ["H", "W"]> -> f32
      %c = phx.load %u[%down, %i] : !phx.tensor<f32, ["H", "W"]> -> f32
      %ab = arith.addf %a, %b : f32
      %abc = arith.addf %ab, %c : f32
      phx.store %abc, %o[%r, %i] : !phx.tensor<f32, ["H", "W"]>
    }
  }
  func.return
}

// OFF-NOT: phx.prefetch

// With the loads proven in bounds, the walk is kept inside the row by the loop's own
// bounds (live anyway: no extent has to stay in a register through the inner loop):
// it runs when the inner loop does (lb < ub), from lb + lowest offset to at most
// ub + highest offset.
// PROVEN-LABEL: func.func @rows
// PROVEN:       %[[HAS:.*]] = arith.cmpi slt, %{{.*}}, %{{.*}} : i64
// PROVEN-NEXT:  %[[RUNS:.*]] = arith.cmpi slt, %c1, %w : i64
// PROVEN-NEXT:  %[[BOTH:.*]] = arith.andi %[[HAS]], %[[RUNS]] : i1
// PROVEN-NEXT:  scf.if %[[BOTH]] {
// PROVEN-NOT:     phx.sym
// PROVEN:         arith.minsi
// PROVEN:         phx.prefetch
