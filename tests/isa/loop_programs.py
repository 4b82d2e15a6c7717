"""Hand-written programs with hardware loops shared by the simulator and JIT tests."""

# Sentron 0 sends 10, 20, ... (n of them, from a DLOOP); sentron 1 receives n values
# in a DLOOP and stores them into out[0..n) through a post-incremented coordinate.
RELAY_IN_LOOPS = """
.kernel k
.param out i64[N]
.param n i64
    { DARG r1, arg1 | SBASE p0, arg0 | CSID r2 }
    { DMOVI r3, #10 }
    { DMOVI r6, #1 }
    { DBNZ r2, @receiver }
    { DLOOP r1, @sent }
    { DADD.i64 r4, r4, r3 }
sent:
    { CSENDR r4, r6 }
    { DHALT }
receiver:
    { DMOVI r7, #0 }
    { DLOOP r1, @received }
    { CRECVR r5, r7 }
received:
    { SSCATTRI.i64 p0, r5, #0, #1 }
    { DHALT }
"""
