"""The vTPU instruction set as one table: the single source of truth.

Every consumer derives from ``ISA`` below: the encoder and decoder (bit fields),
the assembler and disassembler (mnemonics and operand syntax), the verifier
(pipes, register classes, operand ranges), the simulator (semantics keyed by
``OpInfo.semantics``), the scheduler (pipe, latency class, effects) and the JIT.
No other module restates an opcode number.

Encoding of one op (64 bits, little-endian inside the SIW, see docs/siw-format.md):

    bits  0..9   opcode (10 bits; 0 is never a valid opcode)
    bits 10..12  vector width w: lanes = 1 << w (only w = 0 exists in ISA 0.1)
    bits 13..15  reserved, must be zero
    bits 16..19  field a        bits 20..23  field b
    bits 24..27  field c        bits 28..31  field d
    bits 32..63  field imm (32 bits, two's complement where the kind is signed)
                 or, for ops with two immediates, field lo (32..47) and field hi (48..63)

Each operand of an op occupies one field; the table says which.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

ISA_VERSION = (0, 1)


class Pipe(enum.IntEnum):
    D = 0  # dense arithmetic, compare, select, branches
    S = 1  # memory, phext coordinates, prefetch, spill
    C = 2  # messages and collectives between sentrons


class RegClass(enum.Enum):
    R = ("r", 16, 64)  # general 64-bit
    P = ("p", 8, 128)  # phext coordinate
    M = ("m", 4, 256)  # message buffer (four 64-bit lanes)

    def __init__(self, prefix: str, count: int, bits: int) -> None:
        self.prefix = prefix
        self.count = count
        self.bits = bits


class Type(enum.IntEnum):
    """Element types of typed op variants; the value is the type code in encodings."""

    I32 = 0
    I64 = 1
    F32 = 2
    F64 = 3

    @property
    def suffix(self) -> str:
        return self.name.lower()

    @property
    def is_float(self) -> bool:
        return self in (Type.F32, Type.F64)

    @property
    def bits(self) -> int:
        return 32 if self in (Type.I32, Type.F32) else 64


INT_TYPES = (Type.I32, Type.I64)
FLOAT_TYPES = (Type.F32, Type.F64)
ALL_TYPES = (Type.I32, Type.I64, Type.F32, Type.F64)


class Cond(enum.IntEnum):
    """Comparison predicates (signed for integers, ordered for floats; NE is unordered)."""

    EQ = 0
    NE = 1
    LT = 2
    LE = 3
    GT = 4
    GE = 5


# How the machine carries out the ops of one word (after every op has read its
# registers): C first, as it is the only pipe that can block and a blocked word must
# not have half executed, then S, then D. An op that traps ends the word: the ops before
# it in this order took effect, the others did not. Both engines follow it, and the
# packer relies on it to put a side effect and an op that may stop the sentron in one
# word (dependence_graph.py).
WORD_EXECUTION_ORDER: tuple[Pipe, ...] = (Pipe.C, Pipe.S, Pipe.D)
EXECUTION_RANK: dict[Pipe, int] = {pipe: rank for rank, pipe in enumerate(WORD_EXECUTION_ORDER)}


# The exact negation of each predicate, where the ISA has it. For integers every
# predicate has one. For floats only EQ (ordered) and NE (unordered) negate each other:
# not(a < b) is "unordered or >=", which no DBR opcode tests.
NEGATED_INT_COND: dict[Cond, Cond] = {Cond.EQ: Cond.NE, Cond.NE: Cond.EQ, Cond.LT: Cond.GE,
                                      Cond.GE: Cond.LT, Cond.LE: Cond.GT, Cond.GT: Cond.LE}
NEGATED_FLOAT_COND: dict[Cond, Cond] = {Cond.EQ: Cond.NE, Cond.NE: Cond.EQ}


class RedOp(enum.IntEnum):
    """Reduction operators of DRED/CREDUCE (the prototype's list)."""

    SUM = 0
    MAX = 1
    MIN = 2
    AND = 3
    OR = 4
    XOR = 5


class Hint(enum.IntEnum):
    """Cache level hints of SPREFCH."""

    L1 = 0
    L2 = 1
    L3 = 2
    NTA = 3


class Fence(enum.IntEnum):
    THREAD = 0
    CORE = 1
    NODE = 2
    CLUSTER = 3


class Kind(enum.Enum):
    """Operand kinds: what a field holds and how it is written in assembly.

    Each member is (register class or None, assembly prefix, value range)."""

    R = (RegClass.R, "r")
    P = (RegClass.P, "p")
    M = (RegClass.M, "m")
    IMM = (None, "#")  # signed 32-bit immediate
    TARGET = (None, "@")  # SIW index inside the kernel's code (absolute in the stream)
    POOL = (None, "$")  # constant pool index (64-bit entries)
    PARAM = (None, "arg")  # kernel parameter index
    SYM = (None, "sym")  # shape symbol index of the kernel
    DIM = (None, "d")  # phext dimension 0..10
    LANE = (None, "lane")  # message lane 0..3
    SLOT = (None, "spill")  # spill slot (8-byte units) in the sentron's spill area
    AXIS = (None, "axis")  # tensor axis 0..10
    # The enum kinds share (None, ""); the third element keeps them distinct members
    # (equal values would make them aliases of COND).
    COND = (None, "", "cond")  # a Cond name
    REDOP = (None, "", "redop")  # a RedOp name
    HINT = (None, "", "hint")  # a Hint name
    FENCE = (None, "", "fence")  # a Fence name
    TYPE = (None, "", "type")  # a Type name (source type of DCVT)

    def __init__(self, regclass: RegClass | None, prefix: str, *tag: str) -> None:
        self.regclass = regclass
        self.prefix = prefix

    @property
    def is_reg(self) -> bool:
        return self.regclass is not None


class Role(enum.Enum):
    DEF = "def"  # written
    USE = "use"  # read
    USEDEF = "usedef"  # read then written (CPACK's message, a post-increment's coordinate)
    NONE = "none"  # not a register: an immediate-like operand


@dataclass(frozen=True)
class Operand:
    name: str
    kind: Kind
    role: Role
    field: str  # "a", "b", "c", "d" (4 bits) or "imm" (32 bits)


# Latency classes; cycle profiles (runtime/cycle_model) give each a number of cycles.
LATENCY_CLASSES = (
    "none",  # NOPs and sequencer-only ops
    "alu",  # integer add/logic/compare/select/moves
    "imul",
    "idiv",
    "fadd",
    "fmul",
    "fma",
    "fdiv",
    "fsqrt",
    "transcendental",  # exp/log/tanh through libm
    "cvt",
    "branch",
    "load",  # cache model decides
    "store",
    "index",  # coordinate arithmetic
    "prefetch",
    "spill",
    "msg",  # send/recv message latency
    "collective",
    "sync",
)


class Effect(enum.Flag):
    NONE = 0
    READ_MEM = enum.auto()
    WRITE_MEM = enum.auto()
    PREFETCH = enum.auto()
    SPILL = enum.auto()  # touches the sentron's private spill area
    SEND = enum.auto()
    RECV = enum.auto()  # may block
    SYNC = enum.auto()  # all sentrons take part (barrier, collectives); may block
    BRANCH = enum.auto()  # may change control flow
    HALT = enum.auto()
    TRAP = enum.auto()  # may raise a runtime error
    ALLOC = enum.auto()
    # Sets up a zero-overhead hardware loop (DLOOP): control continues at the next word
    # (or past the loop end when the count is not positive), and the sequencer, not a
    # slot op, takes the loop-back from the end of the body.
    LOOP = enum.auto()


@dataclass(frozen=True)
class OpInfo:
    """One row of the ISA table: one opcode."""

    opcode: int
    mnemonic: str  # e.g. "DADD.f32"
    family: str  # e.g. "DADD": the semantics key shared by typed variants
    pipe: Pipe
    operands: tuple[Operand, ...]
    type: Type | None  # the element type of typed variants
    latency: str
    effects: Effect
    summary: str
    version: tuple[int, int] = (0, 1)
    reserved: bool = False  # v0.2 opcodes: decoded by name, rejected by the verifier
    extension: bool = False  # not in the vTPU spec: defined by phextcc (docs/isa.md says why)
    cond: Cond | None = None  # fixed predicate folded into the opcode (DBR.<cc>)

    @property
    def is_nop(self) -> bool:
        return self.family in ("DNOP", "SNOP", "CNOP")

    def defs(self) -> tuple[Operand, ...]:
        return tuple(o for o in self.operands if o.role in (Role.DEF, Role.USEDEF))

    def uses(self) -> tuple[Operand, ...]:
        return tuple(o for o in self.operands if o.role in (Role.USE, Role.USEDEF))


def _op(name: str, kind: Kind, role: Role, fld: str) -> Operand:
    return Operand(name, kind, role, fld)


def rd(name: str = "rd", fld: str = "a") -> Operand:
    return _op(name, Kind.R, Role.DEF, fld)


def rs(name: str, fld: str) -> Operand:
    return _op(name, Kind.R, Role.USE, fld)


def imm(name: str, kind: Kind = Kind.IMM) -> Operand:
    return _op(name, kind, Role.NONE, "imm")


def small(name: str, kind: Kind, fld: str) -> Operand:
    return _op(name, kind, Role.NONE, fld)


# ---------------------------------------------------------------------------
# The table. Opcode = family base + type code for typed families.
# Bases are fixed numbers so that binaries stay stable as the table grows.
# ---------------------------------------------------------------------------

R3 = (rd(), rs("rs1", "b"), rs("rs2", "c"))
R2 = (rd(), rs("rs", "b"))

# (family, base, pipe, operands, types, latency-by-type, effects, summary, extension)
_FAMILIES: list[tuple] = [
    # --- D pipe --------------------------------------------------------------
    ("DNOP", 0x001, Pipe.D, (), None, "none", Effect.NONE, "no D operation", False),
    ("DADD", 0x010, Pipe.D, R3, ALL_TYPES, {"i": "alu", "f": "fadd"}, Effect.NONE,
     "rd = rs1 + rs2 (integers wrap)", False),
    ("DADDI", 0x098, Pipe.D, (rd(), rs("rs", "b"), imm("value")), INT_TYPES, "alu",
     Effect.NONE, "rd = rs + value (the immediate sign-extended; integers wrap)", True),
    ("DSUB", 0x014, Pipe.D, R3, ALL_TYPES, {"i": "alu", "f": "fadd"}, Effect.NONE,
     "rd = rs1 - rs2", False),
    ("DMUL", 0x018, Pipe.D, R3, ALL_TYPES, {"i": "imul", "f": "fmul"}, Effect.NONE,
     "rd = rs1 * rs2", False),
    ("DDIV", 0x01C, Pipe.D, R3, ALL_TYPES, {"i": "idiv", "f": "fdiv"}, Effect.TRAP,
     "rd = rs1 / rs2; integers truncate toward zero and trap on division by zero", True),
    ("DREM", 0x020, Pipe.D, R3, INT_TYPES, "idiv", Effect.TRAP,
     "rd = rs1 % rs2 with the sign of rs1; traps on division by zero", True),
    ("DFMA", 0x024, Pipe.D, (rd(), rs("rs1", "b"), rs("rs2", "c"), rs("rs3", "d")),
     FLOAT_TYPES, "fma", Effect.NONE, "rd = rs1 * rs2 + rs3, rounded once", False),
    ("DNEG", 0x028, Pipe.D, R2, ALL_TYPES, {"i": "alu", "f": "fadd"}, Effect.NONE,
     "rd = -rs", True),
    ("DABS", 0x02C, Pipe.D, R2, ALL_TYPES, {"i": "alu", "f": "fadd"}, Effect.NONE,
     "rd = |rs|", True),
    ("DMIN", 0x030, Pipe.D, R3, ALL_TYPES, {"i": "alu", "f": "fadd"}, Effect.NONE,
     "rd = min(rs1, rs2); NaN if either float operand is NaN", True),
    ("DMAX", 0x034, Pipe.D, R3, ALL_TYPES, {"i": "alu", "f": "fadd"}, Effect.NONE,
     "rd = max(rs1, rs2); NaN if either float operand is NaN", True),
    ("DSQRT", 0x038, Pipe.D, R2, FLOAT_TYPES, "fsqrt", Effect.NONE, "rd = sqrt(rs)", True),
    ("DEXP", 0x03C, Pipe.D, R2, FLOAT_TYPES, "transcendental", Effect.NONE,
     "rd = exp(rs) (C library semantics)", True),
    ("DLOG", 0x040, Pipe.D, R2, FLOAT_TYPES, "transcendental", Effect.NONE,
     "rd = log(rs) (C library semantics)", True),
    ("DTANH", 0x044, Pipe.D, R2, FLOAT_TYPES, "transcendental", Effect.NONE,
     "rd = tanh(rs) (C library semantics)", True),
    ("DFLOOR", 0x048, Pipe.D, R2, FLOAT_TYPES, "fadd", Effect.NONE, "rd = floor(rs)", True),
    ("DCEIL", 0x04C, Pipe.D, R2, FLOAT_TYPES, "fadd", Effect.NONE, "rd = ceil(rs)", True),
    ("DAND", 0x050, Pipe.D, R3, INT_TYPES, "alu", Effect.NONE, "rd = rs1 & rs2 (bool and)", True),
    ("DOR", 0x054, Pipe.D, R3, INT_TYPES, "alu", Effect.NONE, "rd = rs1 | rs2 (bool or)", True),
    ("DXOR", 0x058, Pipe.D, R3, INT_TYPES, "alu", Effect.NONE,
     "rd = rs1 ^ rs2 (bool not with 1; HDC binary bind)", True),
    ("DPOPCNT", 0x05C, Pipe.D, R2, INT_TYPES, "alu", Effect.NONE,
     "rd = number of set bits of rs", True),
    ("DSHL", 0x060, Pipe.D, R3, INT_TYPES, "alu", Effect.NONE,
     "rd = rs1 << (rs2 mod bits)", True),
    ("DSHR", 0x064, Pipe.D, R3, INT_TYPES, "alu", Effect.NONE,
     "rd = rs1 >> (rs2 mod bits), arithmetic", True),
    ("DCMP", 0x068, Pipe.D, R3 + (small("cc", Kind.COND, "d"),), ALL_TYPES, "alu",
     Effect.NONE, "rd = (rs1 cc rs2) ? 1 : 0", False),
    ("DSEL", 0x06C, Pipe.D, (rd(), rs("rc", "b"), rs("rs1", "c"), rs("rs2", "d")), None,
     "alu", Effect.NONE, "rd = rc != 0 ? rs1 : rs2 (flags of the spec become a register)",
     False),
    ("DMOV", 0x070, Pipe.D, R2, None, "alu", Effect.NONE, "rd = rs (64-bit copy)", False),
    ("DMOVI", 0x071, Pipe.D, (rd(), imm("value")), None, "alu", Effect.NONE,
     "rd = sign-extended 32-bit immediate", False),
    ("DLDC", 0x072, Pipe.D, (rd(), imm("index", Kind.POOL)), None, "alu", Effect.NONE,
     "rd = 64-bit constant pool entry", True),
    ("DARG", 0x073, Pipe.D, (rd(), imm("param", Kind.PARAM)), None, "alu", Effect.NONE,
     "rd = scalar kernel argument", True),
    ("DSYM", 0x074, Pipe.D, (rd(), imm("symbol", Kind.SYM)), None, "alu", Effect.NONE,
     "rd = value of a shape symbol (i64)", True),
    ("DCHK", 0x075, Pipe.D, (rs("rs", "a"), small("axis", Kind.AXIS, "b"),
                             imm("param", Kind.PARAM)), None, "alu", Effect.TRAP,
     "trap unless 0 <= rs < extent of axis of tensor param", True),
    ("DCVT", 0x078, Pipe.D, (rd(), rs("rs", "b"), small("from", Kind.TYPE, "c")), ALL_TYPES,
     "cvt", Effect.NONE,
     "rd = rs converted from type `from`; float to int truncates and saturates, NaN -> 0",
     True),
    ("DRED", 0x07C, Pipe.D, (rd(), _op("ms", Kind.M, Role.USE, "b"),
                             small("op", Kind.REDOP, "c")), ALL_TYPES, "fadd", Effect.NONE,
     "rd = reduction of the four lanes of ms", False),
    ("DBR", 0x080, Pipe.D, (rs("rs1", "a"), rs("rs2", "b"), imm("target", Kind.TARGET)),
     ALL_TYPES, "branch", Effect.BRANCH,
     "if rs1 cc rs2 goto target (cc in the mnemonic: DBR.<cc>.<type>)", True),
    ("DBNZ", 0x0A0, Pipe.D, (rs("rs", "a"), imm("target", Kind.TARGET)), None, "branch",
     Effect.BRANCH, "if rs != 0 goto target", True),
    ("DBZ", 0x0A1, Pipe.D, (rs("rs", "a"), imm("target", Kind.TARGET)), None, "branch",
     Effect.BRANCH, "if rs == 0 goto target", True),
    ("DJMP", 0x0A2, Pipe.D, (imm("target", Kind.TARGET),), None, "branch", Effect.BRANCH,
     "goto target", True),
    ("DHALT", 0x0A3, Pipe.D, (), None, "branch", Effect.HALT,
     "end of the kernel for this sentron (after the word's other ops)", True),
    ("DLOOP", 0x0A4, Pipe.D, (rs("count", "a"), imm("end", Kind.TARGET)), None, "branch",
     Effect.LOOP,
     "run the words after this one through word end count times (count <= 0: skip past "
     "end); the loop-back takes no slot and no op", True),
    # v0.2 hyperdimensional ops: reserved
    ("DHDENC", 0x0C0, Pipe.D, (rd(), rs("rs", "b"), imm("width")), None, "alu", Effect.NONE,
     "v0.2: scalar to hypervector", False),
    ("DHDBIND", 0x0C1, Pipe.D, R3, None, "alu", Effect.NONE, "v0.2: bind hypervectors", False),
    ("DHDBUND", 0x0C2, Pipe.D, R3, None, "alu", Effect.NONE, "v0.2: bundle hypervectors",
     False),
    ("DHDPERM", 0x0C3, Pipe.D, (rd(), rs("rs", "b"), imm("k")), None, "alu", Effect.NONE,
     "v0.2: permute hypervector", False),
    ("DHDSIM", 0x0C4, Pipe.D, R3, None, "alu", Effect.NONE, "v0.2: cosine similarity", False),
    # --- S pipe --------------------------------------------------------------
    ("SNOP", 0x101, Pipe.S, (), None, "none", Effect.NONE, "no S operation", False),
    ("SBASE", 0x102, Pipe.S, (_op("pd", Kind.P, Role.DEF, "a"), imm("param", Kind.PARAM)),
     None, "index", Effect.NONE,
     "pd = base coordinate of tensor param (its region in D10, offset 0)", True),
    ("SINDEX", 0x103, Pipe.S, (_op("pd", Kind.P, Role.DEF, "a"), _op("ps", Kind.P, Role.USE, "b"),
                               rs("offset", "c"), small("dim", Kind.DIM, "d")), None, "index",
     Effect.NONE, "pd = ps + offset * 2048**dim (128-bit add with carry across dimensions)",
     False),
    ("SGATHER", 0x110, Pipe.S, (rd(), _op("coord", Kind.P, Role.USE, "b"), imm("offset")),
     ALL_TYPES, "load", Effect.READ_MEM | Effect.TRAP,
     "rd = element at coord + offset along D0 (width = lanes)", False),
    ("SSCATTR", 0x114, Pipe.S, (_op("coord", Kind.P, Role.USE, "a"), rs("rs", "b"),
                                imm("offset")), ALL_TYPES, "store",
     Effect.WRITE_MEM | Effect.TRAP, "element at coord + offset along D0 = rs", False),
    ("SPREFCH", 0x118, Pipe.S, (_op("coord", Kind.P, Role.USE, "a"), small("hint", Kind.HINT, "b"),
                                imm("offset")), None, "prefetch", Effect.PREFETCH,
     "hint: bring coord + offset into a cache level; never faults", False),
    ("SFLUSH", 0x119, Pipe.S, (_op("coord", Kind.P, Role.USE, "a"), imm("width")), None,
     "store", Effect.PREFETCH, "write back and evict the lines of coord..coord+width", False),
    ("SALLOC", 0x11A, Pipe.S, (_op("pd", Kind.P, Role.DEF, "a"), rs("size", "b"),
                               small("dim_mask", Kind.IMM, "c")), None, "index",
     Effect.ALLOC, "pd = base coordinate of a fresh zeroed region of size 8-byte words",
     False),
    ("SFREE", 0x11B, Pipe.S, (_op("coord", Kind.P, Role.USE, "a"), rs("size", "b")), None,
     "index", Effect.ALLOC, "release the region of coord", False),
    ("SDEDUP", 0x11C, Pipe.S, (rd(), rs("rs", "b"), _op("table", Kind.P, Role.USE, "c")),
     None, "load", Effect.READ_MEM, "reserved: deduplicate against a table", False),
    ("SSPILL", 0x120, Pipe.S, (rs("rs", "a"), imm("slot", Kind.SLOT)), None, "spill",
     Effect.SPILL, "spill area[slot] = rs", True),
    ("SFILL", 0x121, Pipe.S, (rd(), imm("slot", Kind.SLOT)), None, "spill", Effect.SPILL,
     "rd = spill area[slot]", True),
    ("SSPILLP", 0x122, Pipe.S, (_op("ps", Kind.P, Role.USE, "a"), imm("slot", Kind.SLOT)),
     None, "spill", Effect.SPILL, "spill area[slot..slot+1] = ps", True),
    ("SFILLP", 0x123, Pipe.S, (_op("pd", Kind.P, Role.DEF, "a"), imm("slot", Kind.SLOT)),
     None, "spill", Effect.SPILL, "pd = spill area[slot..slot+1]", True),
    ("SSPILLM", 0x124, Pipe.S, (_op("ms", Kind.M, Role.USE, "a"), imm("slot", Kind.SLOT)),
     None, "spill", Effect.SPILL, "spill area[slot..slot+3] = ms", True),
    ("SFILLM", 0x125, Pipe.S, (_op("md", Kind.M, Role.DEF, "a"), imm("slot", Kind.SLOT)),
     None, "spill", Effect.SPILL, "md = spill area[slot..slot+3]", True),
    ("SMOVP", 0x126, Pipe.S, (_op("pd", Kind.P, Role.DEF, "a"), _op("ps", Kind.P, Role.USE, "b")),
     None, "index", Effect.NONE, "pd = ps", True),
    # Post-increment accesses: the coordinate register is read, then written back.
    ("SGATHERI", 0x128, Pipe.S, (rd(), _op("coord", Kind.P, Role.USEDEF, "b"),
                                 small("offset", Kind.IMM, "lo"), small("step", Kind.IMM, "hi")),
     ALL_TYPES, "load", Effect.READ_MEM | Effect.TRAP,
     "rd = element at coord + offset along D0, then coord = coord + step (128-bit add)",
     True),
    ("SSCATTRI", 0x12C, Pipe.S, (_op("coord", Kind.P, Role.USEDEF, "a"), rs("rs", "b"),
                                 small("offset", Kind.IMM, "lo"), small("step", Kind.IMM, "hi")),
     ALL_TYPES, "store", Effect.WRITE_MEM | Effect.TRAP,
     "element at coord + offset along D0 = rs, then coord = coord + step (128-bit add)",
     True),
    # v0.2 S ops: reserved
    ("SASSOC", 0x140, Pipe.S, (rd(), _op("partial", Kind.P, Role.USE, "b"), imm("mode")), None,
     "load", Effect.READ_MEM, "v0.2: wildcard match", False),
    ("SROUTE", 0x141, Pipe.S, (rd(), rs("embedding", "b"), imm("dim_mask")), None, "load",
     Effect.READ_MEM, "v0.2: nearest occupied coordinate", False),
    ("SNEIGHBR", 0x142, Pipe.S, (rd(), _op("coord", Kind.P, Role.USE, "b"), imm("radius")),
     None, "load", Effect.READ_MEM, "v0.2: occupied neighbours", False),
    # --- C pipe --------------------------------------------------------------
    ("CNOP", 0x201, Pipe.C, (), None, "none", Effect.NONE, "no C operation", False),
    ("CPACK", 0x202, Pipe.C, (_op("md", Kind.M, Role.USEDEF, "a"), rs("rs", "b"),
                              small("lane", Kind.LANE, "c")), None, "alu", Effect.NONE,
     "lane of md = rs (the other lanes are kept)", False),
    ("CUNPK", 0x203, Pipe.C, (rd(), _op("ms", Kind.M, Role.USE, "b"),
                              small("lane", Kind.LANE, "c")), None, "alu", Effect.NONE,
     "rd = lane of ms", True),
    ("CSEND", 0x204, Pipe.C, (_op("ms", Kind.M, Role.USE, "a"), rs("dst", "b")), None, "msg",
     Effect.SEND | Effect.TRAP, "send ms to sentron dst (FIFO per pair, never blocks)", False),
    ("CRECV", 0x205, Pipe.C, (_op("md", Kind.M, Role.DEF, "a"), rs("src", "b")), None, "msg",
     Effect.RECV | Effect.TRAP, "md = next message from sentron src (blocks)", False),
    ("CBAR", 0x206, Pipe.C, (), None, "sync", Effect.SYNC, "barrier of all sentrons", False),
    ("CFENCE", 0x207, Pipe.C, (small("scope", Kind.FENCE, "a"),), None, "sync", Effect.NONE,
     "order memory and messages (sequentially consistent here)", False),
    # Scalar messages: one C op per send or receive instead of CPACK + CSEND and
    # CRECV + CUNPK. They share the FIFOs of CSEND/CRECV, so either side may use either form.
    ("CSENDR", 0x208, Pipe.C, (rs("rs", "a"), rs("dst", "b")), None, "msg",
     Effect.SEND | Effect.TRAP,
     "send the message (rs, 0, 0, 0) to sentron dst (same FIFO as CSEND, never blocks)", True),
    ("CRECVR", 0x209, Pipe.C, (rd(), rs("src", "b")), None, "msg", Effect.RECV | Effect.TRAP,
     "rd = lane 0 of the next message from sentron src (same FIFO as CRECV, blocks)", True),
    ("CREDUCE", 0x210, Pipe.C, (rd(), rs("rs", "b"), small("op", Kind.REDOP, "c")), ALL_TYPES,
     "collective", Effect.SYNC,
     "rd = op over all sentrons of rs, folded in sentron order", False),
    ("CCAST", 0x214, Pipe.C, (rd(), rs("rs", "b"), rs("root", "c")), None, "collective",
     Effect.SYNC | Effect.TRAP, "rd = rs of sentron root, on every sentron", False),
    ("CSID", 0x218, Pipe.C, (rd(),), None, "alu", Effect.NONE, "rd = sentron id", True),
    ("CNUM", 0x219, Pipe.C, (rd(),), None, "alu", Effect.NONE, "rd = number of sentrons",
     True),
    ("CROUTE", 0x21A, Pipe.C, (_op("ms", Kind.M, Role.USE, "a"), rs("node", "b")), None, "msg",
     Effect.SEND, "reserved: route a message to another node", False),
    # v0.2 C ops: reserved
    ("CSLICE", 0x240, Pipe.C, (rs("group", "a"), imm("range")), None, "msg", Effect.SEND,
     "v0.2: attention slicing", False),
    ("CFANOUT", 0x241, Pipe.C, (_op("ms", Kind.M, Role.USE, "a"), imm("pattern")), None, "msg",
     Effect.SEND, "v0.2: fan-out to a coordinate pattern", False),
    ("CMERGE", 0x242, Pipe.C, (rd(), rs("group", "b"), imm("op")), None, "collective",
     Effect.SYNC, "v0.2: merge from a group", False),
]

_RESERVED = {"DHDENC", "DHDBIND", "DHDBUND", "DHDPERM", "DHDSIM", "SASSOC", "SROUTE",
             "SNEIGHBR", "CSLICE", "CFANOUT", "CMERGE", "SDEDUP", "CROUTE"}
_V02 = {"DHDENC", "DHDBIND", "DHDBUND", "DHDPERM", "DHDSIM", "SASSOC", "SROUTE", "SNEIGHBR",
        "CSLICE", "CFANOUT", "CMERGE"}


def _latency(spec: str | dict, t: Type | None) -> str:
    if isinstance(spec, str):
        return spec
    assert t is not None
    return spec["f" if t.is_float else "i"]


def _build() -> tuple[OpInfo, ...]:
    rows: list[OpInfo] = []
    for family, base, pipe, operands, types, lat, effects, summary, ext in _FAMILIES:
        common = dict(family=family, pipe=pipe, operands=operands, effects=effects,
                      summary=summary, extension=ext, reserved=family in _RESERVED,
                      version=(0, 2) if family in _V02 else (0, 1))
        if family == "DBR":
            # compare-and-branch: one opcode per (predicate, type)
            for cc in Cond:
                for t in types:
                    rows.append(OpInfo(opcode=base + cc * 4 + t,
                                       mnemonic=f"DBR.{cc.name.lower()}.{t.suffix}", type=t,
                                       latency=_latency(lat, t), cond=cc, **common))
        elif types is None:
            rows.append(OpInfo(opcode=base, mnemonic=family, type=None,
                               latency=_latency(lat, None), **common))
        else:
            for t in types:
                rows.append(OpInfo(opcode=base + t, mnemonic=f"{family}.{t.suffix}", type=t,
                                   latency=_latency(lat, t), **common))
    return tuple(rows)


ISA: tuple[OpInfo, ...] = _build()
BY_OPCODE: dict[int, OpInfo] = {op.opcode: op for op in ISA}
BY_MNEMONIC: dict[str, OpInfo] = {op.mnemonic: op for op in ISA}
NOP: dict[Pipe, OpInfo] = {Pipe.D: BY_MNEMONIC["DNOP"], Pipe.S: BY_MNEMONIC["SNOP"],
                           Pipe.C: BY_MNEMONIC["CNOP"]}

assert len(BY_OPCODE) == len(ISA), "duplicate opcode in the ISA table"
assert all(0 < op.opcode < 1 << 10 for op in ISA)


# The register-to-register copy row of each class (no op copies an m register).
COPY_OF_CLASS: dict[RegClass, str] = {RegClass.R: "DMOV", RegClass.P: "SMOVP"}
COPY_FAMILIES: frozenset[str] = frozenset(COPY_OF_CLASS.values())
assert COPY_FAMILIES <= {op.family for op in ISA}


# Branches on a register that test opposite things.
_NEGATED_BRANCH_FAMILY = {"DBZ": "DBNZ", "DBNZ": "DBZ"}


def negated_branch(info: OpInfo) -> OpInfo | None:
    """The branch row taken exactly when ``info`` is not (same operands), if any."""
    if info.family in _NEGATED_BRANCH_FAMILY:
        return BY_MNEMONIC[_NEGATED_BRANCH_FAMILY[info.family]]
    if info.cond is None or info.type is None:
        return None
    negated = (NEGATED_FLOAT_COND if info.type.is_float else NEGATED_INT_COND).get(info.cond)
    return None if negated is None else lookup(info.family, info.type, negated)


def lookup(family: str, t: Type | None = None, cond: Cond | None = None) -> OpInfo:
    """The row for a family, typed variant and (for DBR) predicate."""
    if cond is not None:
        return BY_MNEMONIC[f"{family}.{cond.name.lower()}.{t.suffix}"]  # type: ignore[union-attr]
    return BY_MNEMONIC[family if t is None else f"{family}.{t.suffix}"]


# ---------------------------------------------------------------------------
# Field layout of one 64-bit op.
# ---------------------------------------------------------------------------

OPCODE_BITS = 10
WIDTH_SHIFT, WIDTH_BITS = 10, 3
RESERVED_SHIFT, RESERVED_BITS = 13, 3
# "lo" and "hi" split the imm bits for ops with two immediates (post-increment accesses);
# an op uses either imm or lo/hi, never both.
FIELD_SHIFT = {"a": 16, "b": 20, "c": 24, "d": 28, "imm": 32, "lo": 32, "hi": 48}
FIELD_BITS = {"a": 4, "b": 4, "c": 4, "d": 4, "imm": 32, "lo": 16, "hi": 16}

# Signed immediates; all other kinds are unsigned.
SIGNED_KINDS = frozenset({Kind.IMM})

# Inclusive value range of each non-register kind (registers: 0..count-1).
KIND_RANGE: dict[Kind, tuple[int, int]] = {
    Kind.IMM: (-(1 << 31), (1 << 31) - 1),
    Kind.TARGET: (0, (1 << 32) - 1),
    Kind.POOL: (0, (1 << 32) - 1),
    Kind.PARAM: (0, 255),
    Kind.SYM: (0, 255),
    Kind.DIM: (0, 10),
    Kind.LANE: (0, 3),
    Kind.SLOT: (0, (1 << 20) - 1),
    Kind.AXIS: (0, 10),
    Kind.COND: (0, len(Cond) - 1),
    Kind.REDOP: (0, len(RedOp) - 1),
    Kind.HINT: (0, len(Hint) - 1),
    Kind.FENCE: (0, len(Fence) - 1),
    Kind.TYPE: (0, len(Type) - 1),
}

ENUM_OF_KIND: dict[Kind, type[enum.IntEnum]] = {
    Kind.COND: Cond, Kind.REDOP: RedOp, Kind.HINT: Hint, Kind.FENCE: Fence, Kind.TYPE: Type,
}


def operand_range(kind: Kind) -> tuple[int, int]:
    if kind.regclass is not None:
        return (0, kind.regclass.count - 1)
    return KIND_RANGE[kind]


# ---------------------------------------------------------------------------
# deps flags of an SIW (vtpu-isa.md section 2, bits 6 and 7 defined by phextcc).
# Bit (X, Y) is set when the Y-pipe op of a word reads or writes a register that
# the X-pipe op of the word just before it (in stream order) writes.
# ---------------------------------------------------------------------------

DEPS_BITS: dict[tuple[Pipe, Pipe], int] = {
    (Pipe.D, Pipe.D): 0,
    (Pipe.S, Pipe.S): 1,
    (Pipe.C, Pipe.C): 2,
    (Pipe.S, Pipe.D): 3,  # D needs prior S
    (Pipe.D, Pipe.S): 4,  # S needs prior D
    (Pipe.D, Pipe.C): 5,  # C needs prior D
    (Pipe.C, Pipe.D): 6,  # D needs prior C (phextcc)
    (Pipe.C, Pipe.S): 6,  # S needs prior C (phextcc; shares bit 6)
    (Pipe.S, Pipe.C): 7,  # C needs prior S (phextcc)
}

# Coordinates: 11 dimensions of 11 bits, dimension k at bits [11k, 11k+11), flags at 121..127.
PHEXT_DIMS = 11
PHEXT_DIM_BITS = 11
PHEXT_FLAG_SHIFT = 121
REGION_DIM = 10  # tensors live in region D10; D0..D9 hold the flat row-major element offset
OFFSET_BITS = PHEXT_DIM_BITS * REGION_DIM  # 110


@dataclass(frozen=True)
class SiwShape:
    """Sizes of the encoded word (docs/siw-format.md)."""

    op_bytes: int = 8
    word_bytes: int = 32  # three ops, deps byte, seven reserved zero bytes
    deps_offset: int = 24
    slots: tuple[Pipe, ...] = field(default=(Pipe.D, Pipe.S, Pipe.C))


SIW = SiwShape()


def field_range(operand: Operand) -> tuple[int, int]:
    """Inclusive value range of an operand: its kind's range cut to what its field holds
    (a signed kind in an n-bit field is n-bit two's complement)."""
    low, high = operand_range(operand.kind)
    bits = FIELD_BITS[operand.field]
    if operand.kind in SIGNED_KINDS:
        return max(low, -(1 << (bits - 1))), min(high, (1 << (bits - 1)) - 1)
    return max(low, 0), min(high, (1 << bits) - 1)
