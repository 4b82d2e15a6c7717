"""Small hand-written `.siws` programs shared by the format, verifier and assembler
tests: every pipe, labels, pool constants, spills, symbols and debug locations."""

SAXPY = """
.source "saxpy.phx"
.const f64:1.5
.kernel saxpy
.param x f32[N]
.param y f32[N]
.param a f32
.param n i32
    .loc 2 5
    { DARG r1, arg2 | SBASE p0, arg0 }
    { DARG r2, arg3 | SBASE p1, arg1 }
    { DMOVI r3, #0 | CSID r8 }
    { DMOVI r7, #1 }
loop:
    { DBR.ge.i32 r3, r2, @done | SGATHER.f32 r4, p0, #0 }
    { SGATHER.f32 r5, p1, #0 }
    { DFMA.f32 r6, r4, r1, r5 | SINDEX p0, p0, r7, d0 }
    { DADD.i32 r3, r3, r7 | SSCATTR.f32 p1, r6, #0 }
    { DJMP @loop | SINDEX p1, p1, r7, d0 }
done:
    DHALT
.kernel second
.param out i64[4, M]
.symbols M K
    { DLDC r0, $0 | SBASE p2, arg0 }
    { DSYM r1, sym0 | SSCATTR.i64 p2, r0, #3 }
    { DHALT }
"""

COLLECTIVES = """
.source "spmd.phx"
.kernel ring
.param acc f64[8]
.param n i64
    { DARG r1, arg1 | SBASE p0, arg0 | CSID r2 }
    { DMOVI r3, #1 | SGATHER.f64 r4, p0, #0 | CNUM r5 }
    { DADD.i64 r6, r2, r3 | SPREFCH p0, l2, #8 | CPACK m0, r4, lane0 }
    { DREM.i64 r7, r6, r5 | SSPILL r4, spill0 | CBAR }
    { DCHK r1, axis0, arg0 | CSEND m0, r7 }
    { CRECV m1, r7 }
    { CUNPK r8, m1, lane0 }
    { CREDUCE.f64 r9, r8, max | SFILL r10, spill0 }
    { DHALT | SSCATTR.f64 p0, r9, #1 | CFENCE cluster }
"""
