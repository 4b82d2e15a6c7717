"""Zero-overhead hardware loops in the simulator: the ``DLOOP`` op and the sequencer's
loop-back at the end of a body.

``DLOOP count, @end`` reads ``count`` as a signed i64: not positive, control goes to
end + 1; else the sentron's loop state becomes ``count`` remaining trips and control
falls into the body. The word closure of the body's last word is wrapped so that after
the word, the sequencer goes back to the first body word while trips remain. The
verifier keeps bodies straight-line and entered only from their DLOOP, so one counter
per sentron (``SentronState.loop_remaining``) is the whole loop state.
"""

from __future__ import annotations

from phextcc.backend.hardware_loops import HardwareLoop, loop_at
from phextcc.backend.program import Instr
from runtime.floatbits import signed64
from runtime.ops_dense import operands
from runtime.sentron_state import OpFn, SentronState


def build_loop_setup(instr: Instr, st: SentronState) -> OpFn:
    loop = loop_at(instr, st.decoding_siw)
    assert loop is not None
    R, count, exit_to = st.registers, operands(instr)["count"], loop.exit

    def loop_setup() -> int | None:
        trips = signed64(R[count])
        if trips <= 0:
            return exit_to
        st.loop_remaining = trips
        return None
    return loop_setup


def with_loop_back(word: OpFn, loop: HardwareLoop, st: SentronState) -> OpFn:
    """The closure of a body's last word: the word, then the sequencer's loop-back.
    A word that blocks (or halts) returns before any trip is counted."""
    first = loop.first

    def end_of_body() -> int | None:
        outcome = word()
        if outcome is not None:
            return outcome
        if st.loop_remaining > 1:
            st.loop_remaining -= 1
            return first
        st.loop_remaining = 0
        return None
    return end_of_body


LOOP_BUILDERS = {"DLOOP": build_loop_setup}
