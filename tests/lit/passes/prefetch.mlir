// RUN: %python -m phextcc.opt_cli %s -p "prefetch-insert{distance=2},phx-canonicalize,phx-cse" | filecheck %s
// RUN: %python -m phextcc.opt_cli %s -p "prefetch-insert{distance=2 writes=true},phx-canonicalize,phx-cse" | filecheck %s --check-prefix=WRITES
// RUN: %python -m phextcc.opt_cli %s -p "prefetch-insert{enabled=false}" | filecheck %s --check-prefix=OFF
// RUN: %python -m phextcc.opt_cli %s -p "prefetch-insert" | filecheck %s --check-prefix=AUTO

// A loop of step 16 reading x[i .. i+15] (one 64-byte line of f32 per iteration) is cut
// in two: when lb < bound = min(N, N - 32), the first loop prefetches x[i + 2 * 16]
// (distance 2 iterations) up to the split, the first multiple of 16 at or above the
// bound, so every prefetch index stays below N; before it the lines of the first two
// iterations, x[0] and x[16], are prefetched. The second loop is the original body on
// the first loop's results, from the split (or from lb when the loop is too short:
// the `scf.if` then yields lb and the initial values). The written-only row `o` is not
// prefetched unless `writes=true`.
// CHECK-LABEL: func.func @stream
// CHECK-DAG:  %[[C32:.*]] = arith.constant 32 : i64
// CHECK-DAG:  %[[N:.*]] = phx.sym "N"
// CHECK:      %[[END:.*]] = arith.subi %[[N]], %[[C32]] : i64
// CHECK-NEXT: %[[BOUND:.*]] = arith.minsi %[[N]], %[[END]] : i64
// CHECK-NEXT: %[[SHORT:.*]] = arith.cmpi sge, %[[LB:.*]], %[[BOUND]] : i64
// CHECK-NEXT: %[[SPLIT:.*]], %[[CARRIED:.*]] = scf.if %[[SHORT]] -> (i64, f32) {
// CHECK-NEXT:   scf.yield %[[LB]], %[[ZERO:.*]] : i64, f32
// CHECK-NEXT: } else {
// CHECK:        %[[UP:.*]] = arith.addi %[[BOUND]], %{{.*}} : i64
// CHECK-NEXT:   %[[MASK:.*]] = arith.constant -16 : i64
// CHECK-NEXT:   %[[CUT:.*]] = arith.andi %[[UP]], %[[MASK]] : i64
// CHECK-NEXT:   phx.prefetch %{{.*}}[%{{.*}}] {in_bounds} : !phx.tensor<f32, ["N"]>
// CHECK-NEXT:   phx.prefetch %{{.*}}[%{{.*}}] {in_bounds} : !phx.tensor<f32, ["N"]>
// CHECK-NOT:    phx.load
// CHECK:        %[[FIRST:.*]] = scf.for %[[I:.*]] = %[[LB]] to %[[CUT]] step %{{.*}} iter_args(%{{.*}} = %[[ZERO]]) -> (f32) : i64 {
// CHECK-NEXT:     %[[AHEAD:.*]] = arith.addi %[[I]], %[[C32]] : i64
// CHECK-NEXT:     phx.prefetch %{{.*}}[%[[AHEAD]]] {in_bounds} : !phx.tensor<f32, ["N"]>
// CHECK-NOT:      phx.prefetch
// CHECK:          phx.load
// CHECK:          scf.yield
// CHECK-NEXT:   }
// CHECK-NEXT:   scf.yield %[[CUT]], %[[FIRST]] : i64, f32
// CHECK-NEXT: }
// CHECK:      %[[TAIL:.*]] = scf.for %{{.*}} = %[[SPLIT]] to %[[N]] step %{{.*}} iter_args(%{{.*}} = %[[CARRIED]]) -> (f32) : i64 {
// CHECK-NOT:    phx.prefetch
// CHECK:        scf.yield
// CHECK-NEXT: }
// CHECK-NEXT: phx.store %[[TAIL]]

// WRITES-LABEL: func.func @stream
// WRITES:       scf.for
// WRITES-COUNT-2: phx.prefetch
// WRITES:       scf.for

// OFF-NOT: phx.prefetch

// Automatic distance: the busiest pipe of this body is S (16 loads, 16 stores, a
// coordinate per row, the prefetch), so ceil(320 / 35) = 10 iterations = 160 elements.
// AUTO-LABEL: func.func @stream
// AUTO:       arith.constant 160 : i64
// AUTO:       phx.prefetch
func.func @stream(%x: !phx.tensor<f32, ["N"]>, %o: !phx.tensor<f32, ["N"]>, %out: !phx.tensor<f32, [1]>) {
  %c0 = arith.constant 0 : i64
  %c16 = arith.constant 16 : i64
  %zero = arith.constant 0.0 : f32
  %n = phx.sym "N"
  %sum = scf.for %i = %c0 to %n step %c16 iter_args(%acc = %zero) -> (f32) : i64 {
    %c1 = arith.constant 1 : i64
    %c2 = arith.constant 2 : i64
    %c3 = arith.constant 3 : i64
    %c4 = arith.constant 4 : i64
    %c5 = arith.constant 5 : i64
    %c6 = arith.constant 6 : i64
    %c7 = arith.constant 7 : i64
    %c8 = arith.constant 8 : i64
    %c9 = arith.constant 9 : i64
    %c10 = arith.constant 10 : i64
    %c11 = arith.constant 11 : i64
    %c12 = arith.constant 12 : i64
    %c13 = arith.constant 13 : i64
    %c14 = arith.constant 14 : i64
    %c15 = arith.constant 15 : i64
    %i1 = arith.addi %i, %c1 : i64
    %i2 = arith.addi %i, %c2 : i64
    %i3 = arith.addi %i, %c3 : i64
    %i4 = arith.addi %i, %c4 : i64
    %i5 = arith.addi %i, %c5 : i64
    %i6 = arith.addi %i, %c6 : i64
    %i7 = arith.addi %i, %c7 : i64
    %i8 = arith.addi %i, %c8 : i64
    %i9 = arith.addi %i, %c9 : i64
    %i10 = arith.addi %i, %c10 : i64
    %i11 = arith.addi %i, %c11 : i64
    %i12 = arith.addi %i, %c12 : i64
    %i13 = arith.addi %i, %c13 : i64
    %i14 = arith.addi %i, %c14 : i64
    %i15 = arith.addi %c15, %i : i64
    %x0 = phx.load %x[%i] : !phx.tensor<f32, ["N"]> -> f32
    %x1 = phx.load %x[%i1] : !phx.tensor<f32, ["N"]> -> f32
    %x2 = phx.load %x[%i2] : !phx.tensor<f32, ["N"]> -> f32
    %x3 = phx.load %x[%i3] : !phx.tensor<f32, ["N"]> -> f32
    %x4 = phx.load %x[%i4] : !phx.tensor<f32, ["N"]> -> f32
    %x5 = phx.load %x[%i5] : !phx.tensor<f32, ["N"]> -> f32
    %x6 = phx.load %x[%i6] : !phx.tensor<f32, ["N"]> -> f32
    %x7 = phx.load %x[%i7] : !phx.tensor<f32, ["N"]> -> f32
    %x8 = phx.load %x[%i8] : !phx.tensor<f32, ["N"]> -> f32
    %x9 = phx.load %x[%i9] : !phx.tensor<f32, ["N"]> -> f32
    %x10 = phx.load %x[%i10] : !phx.tensor<f32, ["N"]> -> f32
    %x11 = phx.load %x[%i11] : !phx.tensor<f32, ["N"]> -> f32
    %x12 = phx.load %x[%i12] : !phx.tensor<f32, ["N"]> -> f32
    %x13 = phx.load %x[%i13] : !phx.tensor<f32, ["N"]> -> f32
    %x14 = phx.load %x[%i14] : !phx.tensor<f32, ["N"]> -> f32
    %x15 = phx.load %x[%i15] : !phx.tensor<f32, ["N"]> -> f32
    phx.store %x0, %o[%i] : !phx.tensor<f32, ["N"]>
    phx.store %x1, %o[%i1] : !phx.tensor<f32, ["N"]>
    phx.store %x2, %o[%i2] : !phx.tensor<f32, ["N"]>
    phx.store %x3, %o[%i3] : !phx.tensor<f32, ["N"]>
    phx.store %x4, %o[%i4] : !phx.tensor<f32, ["N"]>
    phx.store %x5, %o[%i5] : !phx.tensor<f32, ["N"]>
    phx.store %x6, %o[%i6] : !phx.tensor<f32, ["N"]>
    phx.store %x7, %o[%i7] : !phx.tensor<f32, ["N"]>
    phx.store %x8, %o[%i8] : !phx.tensor<f32, ["N"]>
    phx.store %x9, %o[%i9] : !phx.tensor<f32, ["N"]>
    phx.store %x10, %o[%i10] : !phx.tensor<f32, ["N"]>
    phx.store %x11, %o[%i11] : !phx.tensor<f32, ["N"]>
    phx.store %x12, %o[%i12] : !phx.tensor<f32, ["N"]>
    phx.store %x13, %o[%i13] : !phx.tensor<f32, ["N"]>
    phx.store %x14, %o[%i14] : !phx.tensor<f32, ["N"]>
    phx.store %x15, %o[%i15] : !phx.tensor<f32, ["N"]>
    %acc1 = arith.addf %acc, %x15 : f32
    scf.yield %acc1 : f32
  }
  phx.store %sum, %out[%c0] : !phx.tensor<f32, [1]>
  func.return
}

// Rows of a 2-D tensor: the prefetch keeps the row index, which the range analysis
// bounds by its loop (0 <= r < H), and stays within the row (i < W - 32). A row chosen
// by a loaded value is not prefetched: its index would need checks at every entry.
// CHECK-LABEL: func.func @rows
// CHECK:      %[[W:.*]] = phx.sym "W"
// CHECK:      scf.for %[[R:.*]] = %{{.*}} to %{{.*}} step %{{.*}} : i64 {
// CHECK:        %[[END:.*]] = arith.subi %[[W]], %{{.*}} : i64
// CHECK-NEXT:   %[[BOUND:.*]] = arith.minsi %[[W]], %[[END]] : i64
// CHECK-NEXT:   %[[SHORT:.*]] = arith.cmpi sge, %{{.*}}, %[[BOUND]] : i64
// CHECK-NEXT:   scf.if %[[SHORT]] -> (i64) {
// CHECK:        scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} : i64 {
// CHECK-NEXT:     %[[AHEAD:.*]] = arith.addi %[[I]], %{{.*}} : i64
// CHECK-NEXT:     phx.prefetch %{{.*}}[%[[R]], %[[AHEAD]]] {in_bounds}
// CHECK:        scf.for
// CHECK-NOT:      phx.prefetch
// CHECK:      func.return
func.func @rows(%t: !phx.tensor<f32, ["H", "W"]>, %o: !phx.tensor<f32, ["W"]>) {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %c16 = arith.constant 16 : i64
  %h = phx.sym "H"
  %w = phx.sym "W"
  scf.for %r = %c0 to %h step %c1 : i64 {
    scf.for %i = %c0 to %w step %c16 : i64 {
      %v = phx.load %t[%r, %i] : !phx.tensor<f32, ["H", "W"]> -> f32
      phx.store %v, %o[%i] : !phx.tensor<f32, ["W"]>
    }
  }
  func.return
}

// CHECK-LABEL: func.func @gathered_row
// CHECK-NOT:  phx.prefetch
// CHECK:      func.return
func.func @gathered_row(%t: !phx.tensor<f32, ["H", "W"]>, %rows: !phx.tensor<i64, [1]>, %o: !phx.tensor<f32, ["W"]>) {
  %c0 = arith.constant 0 : i64
  %c16 = arith.constant 16 : i64
  %w = phx.sym "W"
  %r = phx.load %rows[%c0] : !phx.tensor<i64, [1]> -> i64
  scf.for %i = %c0 to %w step %c16 : i64 {
    %v = phx.load %t[%r, %i] : !phx.tensor<f32, ["H", "W"]> -> f32
    phx.store %v, %o[%i] : !phx.tensor<f32, ["W"]>
  }
  func.return
}

// From a run-time lower bound: lb >= -5 is part of `ok` (x[lb - 3 + 8] is the first
// prefetch), and the lines of the first iterations are prefetched only when
// lb - 3 >= 0 (x[lb - 3] is the first element read). The float sum makes the loop
// serial: its stream is prefetched although an iteration advances less than a line.
// CHECK-LABEL: func.func @from_argument
// CHECK:      %[[M5:.*]] = arith.constant -5 : i64
// CHECK-NEXT: %[[OK:.*]] = arith.cmpi sge, %lo, %[[M5]] : i64
// CHECK:      } else {
// CHECK:        %[[SPLIT:.*]] = arith.addi %lo, %{{.*}} : i64
// CHECK-NEXT:   %[[FROM:.*]] = arith.cmpi sge, %lo, %c3 : i64
// CHECK-NEXT:   scf.if %[[FROM]] {
// CHECK-NEXT:     %[[M3:.*]] = arith.constant -3 : i64
// CHECK-NEXT:     %[[FIRST:.*]] = arith.addi %lo, %[[M3]] : i64
// CHECK-NEXT:     phx.prefetch %{{.*}}[%[[FIRST]]] {in_bounds}
// CHECK-NEXT:   }
// CHECK-NEXT:   scf.for %{{.*}} = %lo to %[[SPLIT]]
func.func @from_argument(%x: !phx.tensor<f32, ["N"]>, %o: !phx.tensor<f32, ["N"]>, %lo: i64, %r: !phx.tensor<f32, [1]>) {
  %c4 = arith.constant 4 : i64
  %c3 = arith.constant 3 : i64
  %c0 = arith.constant 0 : i64
  %zero = arith.constant 0.0 : f32
  %n = phx.sym "N"
  %sum = scf.for %i = %lo to %n step %c4 iter_args(%acc = %zero) -> (f32) : i64 {
    %j = arith.subi %i, %c3 : i64
    %v = phx.load %x[%j] : !phx.tensor<f32, ["N"]> -> f32
    phx.store %v, %o[%i] : !phx.tensor<f32, ["N"]>
    %s = arith.addf %acc, %v : f32
    scf.yield %s : f32
  }
  phx.store %sum, %r[%c0] : !phx.tensor<f32, [1]>
  func.return
}

// A nest: row 0 of `a` is walked again on every iteration of the j loop (it stays in
// the cache after the first), so only the rows of `b`, which change with j, are
// prefetched.
// CHECK-LABEL: func.func @nest
// CHECK-NOT:  phx.prefetch %a
// CHECK:      phx.prefetch %b[%j, %{{.*}}] {in_bounds}
// CHECK-NOT:  phx.prefetch %a
// CHECK:      func.return
func.func @nest(%a: !phx.tensor<f32, ["M", "K"]>, %b: !phx.tensor<f32, ["M", "K"]>, %o: !phx.tensor<f32, ["M"]>) {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %c16 = arith.constant 16 : i64
  %m = phx.sym "M"
  %k = phx.sym "K"
  %zero = arith.constant 0.0 : f32
  scf.for %r = %c0 to %m step %c1 : i64 {
    scf.for %j = %c0 to %m step %c1 : i64 {
      %sum = scf.for %i = %c0 to %k step %c16 iter_args(%acc = %zero) -> (f32) : i64 {
        %x = phx.load %a[%c0, %i] : !phx.tensor<f32, ["M", "K"]> -> f32
        %y = phx.load %b[%j, %i] : !phx.tensor<f32, ["M", "K"]> -> f32
        %p = arith.mulf %x, %y : f32
        %s = arith.addf %acc, %p : f32
        scf.yield %s : f32
      }
      phx.store %sum, %o[%j] : !phx.tensor<f32, ["M"]>
    }
  }
  func.return
}

// Left alone: a negative step, an index that decreases with i, a scaled index, a
// loop with a loop inside (only its inner loop is a candidate, and it reads nothing
// along a row), and a loop starting where the previous one stopped (a remainder loop).
// CHECK-LABEL: func.func @untouched
// CHECK-NOT:  phx.prefetch
// CHECK:      func.return
func.func @untouched(%x: !phx.tensor<f32, ["N"]>, %o: !phx.tensor<f32, ["N"]>, %lo: i64, %hi: i64) {
  %c0 = arith.constant 0 : i64
  %c2 = arith.constant 2 : i64
  %m1 = arith.constant -1 : i64
  %n = phx.sym "N"
  scf.for %i = %hi to %lo step %m1 : i64 {
    %v = phx.load %x[%i] : !phx.tensor<f32, ["N"]> -> f32
    phx.store %v, %o[%i] : !phx.tensor<f32, ["N"]>
  }
  %nm1 = arith.addi %n, %m1 : i64
  %c1 = arith.constant 1 : i64
  scf.for %i = %c0 to %n step %c1 : i64 {
    %j = arith.subi %nm1, %i : i64
    %v = phx.load %x[%j] : !phx.tensor<f32, ["N"]> -> f32
    phx.store %v, %o[%i] : !phx.tensor<f32, ["N"]>
  }
  scf.for %i = %c0 to %lo step %c1 : i64 {
    %j = arith.muli %i, %c2 : i64
    %v = phx.load %x[%j] : !phx.tensor<f32, ["N"]> -> f32
    phx.store %v, %o[%i] : !phx.tensor<f32, ["N"]>
  }
  scf.for %i = %c0 to %n step %c1 : i64 {
    scf.for %k = %c0 to %n step %c1 : i64 {
      %v = phx.load %x[%i] : !phx.tensor<f32, ["N"]> -> f32
      phx.store %v, %o[%k] : !phx.tensor<f32, ["N"]>
    }
  }
  %zf = arith.constant 0.0 : f32
  scf.for %i = %c0 to %lo step %c2 : i64 {
    phx.store %zf, %o[%i] : !phx.tensor<f32, ["N"]>
  }
  scf.for %i = %lo to %n step %c1 : i64 {
    %v = phx.load %x[%i] : !phx.tensor<f32, ["N"]> -> f32
    phx.store %v, %o[%i] : !phx.tensor<f32, ["N"]>
  }
  func.return
}
