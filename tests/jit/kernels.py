"""SIW kernels written the way a tier-0 compiler would (one op per word), shared by the
tests and the benchmark."""

SAXPY = """
.kernel saxpy
.param x f32[N]
.param y f32[N]
.param a f32
.symbols N
    { DARG r1, arg2 }
    { DSYM r2, sym0 }
    { SBASE p0, arg0 }
    { SBASE p1, arg1 }
    { DMOVI r3, #0 }
    { DMOVI r7, #1 }
loop:
    { DBR.ge.i64 r3, r2, @done }
    { DCHK r3, axis0, arg0 }
    { SGATHER.f32 r4, p0, #0 }
    { SGATHER.f32 r5, p1, #0 }
    { DMUL.f32 r6, r4, r1 }
    { DADD.f32 r6, r6, r5 }
    { SSCATTR.f32 p1, r6, #0 }
    { SINDEX p0, p0, r7, d0 }
    { SINDEX p1, p1, r7, d0 }
    { DADD.i64 r3, r3, r7 }
    { DJMP @loop }
done:
    DHALT
"""

DOT = """
.kernel dot
.param x f32[N]
.param y f32[N]
.param out f32[1]
.symbols N
    { DSYM r2, sym0 }
    { SBASE p0, arg0 }
    { SBASE p1, arg1 }
    { SBASE p2, arg2 }
    { DMOVI r3, #0 }
    { DMOVI r7, #1 }
    { DMOVI r8, #0 }
loop:
    { DBR.ge.i64 r3, r2, @done }
    { SGATHER.f32 r4, p0, #0 }
    { SGATHER.f32 r5, p1, #0 }
    { DMUL.f32 r6, r4, r5 }
    { DADD.f32 r8, r8, r6 }
    { SINDEX p0, p0, r7, d0 }
    { SINDEX p1, p1, r7, d0 }
    { DADD.i64 r3, r3, r7 }
    { DJMP @loop }
done:
    { SSCATTR.f32 p2, r8, #0 }
    DHALT
"""

# out[b, :] = sum over j < bag of table[ids[b * bag + j], :]  (D columns).
EMBEDDING_BAG = """
.kernel embedding_bag
.param table f32[R, D]
.param ids i32[M]
.param out f32[B, D]
.param bag i64
.symbols R D M B
    { DARG r1, arg3 }
    { DSYM r2, sym1 }
    { DSYM r3, sym3 }
    { DMOVI r4, #0 }
    { DMOVI r15, #1 }
    { SBASE p1, arg1 }
    { SBASE p2, arg2 }
bags:
    { DBR.ge.i64 r4, r3, @done }
    { DMOVI r5, #0 }
members:
    { DBR.ge.i64 r5, r1, @next_bag }
    { SGATHER.i32 r6, p1, #0 }
    { DCVT.i64 r6, r6, i32 }
    { DCHK r6, axis0, arg0 }
    { DMUL.i64 r7, r6, r2 }
    { SBASE p0, arg0 }
    { SINDEX p0, p0, r7, d0 }
    { SMOVP p3, p2 }
    { DMOVI r8, #0 }
columns:
    { DBR.ge.i64 r8, r2, @next_member }
    { SGATHER.f32 r9, p0, #0 }
    { SGATHER.f32 r10, p3, #0 }
    { DADD.f32 r10, r10, r9 }
    { SSCATTR.f32 p3, r10, #0 }
    { SINDEX p0, p0, r15, d0 }
    { SINDEX p3, p3, r15, d0 }
    { DADD.i64 r8, r8, r15 }
    { DJMP @columns }
next_member:
    { SINDEX p1, p1, r15, d0 }
    { DADD.i64 r5, r5, r15 }
    { DJMP @members }
next_bag:
    { SINDEX p2, p2, r2, d0 }
    { DADD.i64 r4, r4, r15 }
    { DJMP @bags }
done:
    DHALT
"""
