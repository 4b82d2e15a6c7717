"""Render docs/isa.md from the ISA table (``python -m phextcc.backend.isa_doc`` rewrites it).

Every table in the document is computed from ``phextcc.backend.isa``; the prose
sections state the decisions the table cannot express (memory model, branch and
sentron semantics, where the vTPU spec is silent or wrong). A test checks that the
committed file equals ``render()``.
"""

from __future__ import annotations

import sys
from itertools import groupby
from pathlib import Path

from phextcc.backend.isa import (
    DEPS_BITS,
    ENUM_OF_KIND,
    FIELD_BITS,
    FIELD_SHIFT,
    ISA,
    ISA_VERSION,
    LATENCY_CLASSES,
    OFFSET_BITS,
    OPCODE_BITS,
    PHEXT_DIM_BITS,
    PHEXT_DIMS,
    PHEXT_FLAG_SHIFT,
    REGION_DIM,
    RESERVED_BITS,
    RESERVED_SHIFT,
    SIW,
    WIDTH_BITS,
    WIDTH_SHIFT,
    Cond,
    Effect,
    Fence,
    Hint,
    Kind,
    OpInfo,
    Pipe,
    RedOp,
    RegClass,
    Type,
    operand_range,
)

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "isa.md"

PIPE_TITLES = {
    Pipe.D: "D pipe (dense arithmetic, compare, select, branches)",
    Pipe.S: "S pipe (memory by phext coordinate, coordinates, prefetch, spill)",
    Pipe.C: "C pipe (messages and collectives between sentrons)",
}

KIND_MEANING = {
    Kind.R: "general register", Kind.P: "phext coordinate register",
    Kind.M: "message register (four 64-bit lanes)", Kind.IMM: "signed immediate",
    Kind.TARGET: "absolute SIW index in the stream (a label in assembly)",
    Kind.POOL: "constant pool index", Kind.PARAM: "kernel parameter index",
    Kind.SYM: "shape symbol index of the kernel", Kind.DIM: "phext dimension",
    Kind.LANE: "message lane", Kind.SLOT: "spill slot (8-byte words)",
    Kind.AXIS: "tensor axis", Kind.COND: "comparison predicate",
    Kind.REDOP: "reduction operator", Kind.HINT: "cache level hint",
    Kind.FENCE: "fence scope", Kind.TYPE: "source type of DCVT",
}


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
              for row in rows]
    return lines + [""]


def _syntax(kind: Kind) -> str:
    enum_type = ENUM_OF_KIND.get(kind)
    if enum_type is not None:
        return " ".join(m.name.lower() for m in enum_type)
    if kind is Kind.TARGET:
        return "`@label` or `@N`"
    return f"`{kind.prefix}N`"


def _operands(info: OpInfo) -> str:
    return ", ".join(f"{o.name}:{o.kind.name.lower()}/{o.role.value}@{o.field}"
                     for o in info.operands) or "-"


def _effects(effects: Effect) -> str:
    return " ".join(m.name.lower() for m in Effect if m and m in effects) or "-"


def _family_row(family: str, rows: list[OpInfo]) -> list[str]:
    first = rows[0]
    codes = [r.opcode for r in rows]
    opcode = f"`{codes[0]:#05x}`" if len(codes) == 1 else \
        f"`{min(codes):#05x}`..`{max(codes):#05x}`"
    if first.cond is not None:
        mnemonic = f"{family}.<cc>.<t>"
    else:
        mnemonic = family if first.type is None else f"{family}.<t>"
    types = " ".join(dict.fromkeys(r.type.suffix for r in rows if r.type is not None)) or "-"
    latency = " / ".join(dict.fromkeys(r.latency for r in rows))
    marks = " ".join(mark for mark, flag in (("reserved", first.reserved),
                                             ("extension", first.extension),
                                             (f"v{first.version[0]}.{first.version[1]}",
                                              first.version != (0, 1))) if flag) or "-"
    return [f"`{mnemonic}`", opcode, _operands(first), types, latency,
            _effects(first.effects), marks, first.summary]


def _pipe_sections() -> list[str]:
    lines: list[str] = []
    for pipe in Pipe:
        lines += [f"### {PIPE_TITLES[pipe]}", ""]
        rows = [op for op in ISA if op.pipe == pipe]
        table = [_family_row(family, list(group))
                 for family, group in groupby(rows, key=lambda op: op.family)]
        lines += _table(["mnemonic", "opcode", "operands", "types", "latency", "effects",
                         "marks", "summary"], table)
    return lines


def _encoding_section() -> list[str]:
    rows = [[f"0..{OPCODE_BITS - 1}", "opcode", "0 is never valid"],
            [f"{WIDTH_SHIFT}..{WIDTH_SHIFT + WIDTH_BITS - 1}", "vector width w",
             "lanes = 1 << w; only w = 0 exists in this ISA (the verifier rejects others)"],
            [f"{RESERVED_SHIFT}..{RESERVED_SHIFT + RESERVED_BITS - 1}", "reserved",
             "must be zero"]]
    for name, shift in FIELD_SHIFT.items():
        rows.append([f"{shift}..{shift + FIELD_BITS[name] - 1}", f"field {name}",
                     ("two's complement for signed kinds, else unsigned; unused fields "
                     "must be zero" + ("; lo and hi share the imm bits (an op uses "
                                       "either)" if name in ("lo", "hi") else ""))])
    type_codes = ", ".join(f"{t.suffix} = {t.value}" for t in Type)
    return [
        "## Encoding of one op", "",
        (f"Each op is {SIW.op_bytes * 8} bits, stored little-endian in its slot of the "
        f"{SIW.word_bytes}-byte SIW (docs/siw-format.md). Each operand occupies the field "
        "named in the operands column (`name:kind/role@field`)."), "",
        *_table(["bits", "content", "notes"], rows),
        (f"Typed variants: opcode = family base + type code ({type_codes}). "
        "`DBR.<cc>.<t>`: opcode = base + 4 * cc + type code (the predicate is part of "
        "the opcode)."), "",
    ]


def _registers_section() -> list[str]:
    rows = [[f"`{rc.prefix}0`..`{rc.prefix}{rc.count - 1}`", str(rc.count), str(rc.bits)]
            for rc in RegClass]
    kinds = [[k.name.lower(), _syntax(k),
              "{}..{}".format(*operand_range(k)), KIND_MEANING[k]] for k in Kind]
    return ["## Registers and operand kinds", "",
            *_table(["registers", "count", "bits"], rows),
            ("`r` registers hold i32 sign-extended to 64 bits, i64, f32 as its IEEE bit "
            "pattern in the low 32 bits (upper bits zero), f64 bits, and bool as 0/1."), "",
            *_table(["kind", "assembly", "range", "meaning"], kinds),
            ("A field narrower than its kind's range limits it further (a 4-bit field "
            "holds 0..15, or -8..7 for a signed kind)."), ""]


def _enum_section() -> list[str]:
    rows = [[enum_type.__name__, ", ".join(f"{m.name.lower()} = {m.value}"
                                           for m in enum_type)]
            for enum_type in (Cond, RedOp, Hint, Fence, Type)]
    return ["## Enumerations", "", *_table(["enum", "members"], rows),
            ("Comparisons are signed on integers; on floats eq/lt/le/gt/ge are ordered "
            "(false on NaN) and ne is unordered (true on NaN)."), ""]


def _deps_section() -> list[str]:
    rows = [[str(bit), f"{consumer.name} needs prior {producer.name}",
             "phextcc extension" if bit >= 6 else "vTPU spec"]
            for (producer, consumer), bit in sorted(DEPS_BITS.items(),
                                                    key=lambda item: item[1])]
    return ["## The deps byte", "",
            ("Bit (X, Y) of a word's deps byte is set exactly when its Y-pipe op reads or "
            "writes a register that the X-pipe op of the word just before it in stream "
            "order writes; the first word of the stream has 0. The verifier recomputes "
            "it (`verifier.compute_deps`) and rejects any difference."), "",
            *_table(["bit", "meaning", "origin"], rows),
            ("Bits 6 and 7 are reserved in the spec; phextcc uses them for the pairs the "
            "spec left out (bit 6 is shared by D and S needing a prior C op)."), ""]


def _coordinate_section() -> list[str]:
    return [
        "## Phext coordinates and the memory model", "",
        (f"A coordinate has {PHEXT_DIMS} dimensions of {PHEXT_DIM_BITS} bits packed in "
        "one 128-bit integer: "
        f"dimension k (0..{PHEXT_DIMS - 1}) at bits [{PHEXT_DIM_BITS}k, "
        f"{PHEXT_DIM_BITS}k+{PHEXT_DIM_BITS}), flags at bits {PHEXT_FLAG_SHIFT}..127 "
        "(flag bit 0 wildcard, 1 correlated, 2 exclusive, 3 routable, 4..6 reserved), "
        "not the prototype's 64-bit packing, which lost the top bits of dimension 5. "
        "Wherever a coordinate appears as data (registers, spill slots, messages) it is "
        "this 128-bit value, stored little-endian as two 64-bit halves, low half first."),
        "",
        (f"Every tensor parameter is a region: D{REGION_DIM} (bits {OFFSET_BITS}.."
        f"{OFFSET_BITS + PHEXT_DIM_BITS - 1}) holds the region id and D0..D{REGION_DIM - 1} "
        f"(bits 0..{OFFSET_BITS - 1}) the flat row-major element offset within the "
        f"tensor, in base {1 << PHEXT_DIM_BITS}: coordinate = offset + (region << "
        f"{OFFSET_BITS}). Incrementing a coordinate is a plain integer add; axes longer "
        f"than {1 << PHEXT_DIM_BITS} carry into the next dimension. Region k is parameter "
        "k of the kernel (scalars count), which is why `SBASE` takes a parameter index; "
        "regions from 1024 up are made by `SALLOC`."), "",
        ("Every S-op access at coordinate + offset checks that the region exists and that "
        "0 <= flat offset < number of elements, else a runtime error (always on). The "
        "per-axis check that names the tensor and index is the explicit `DCHK rs, axis, "
        "param`, which the compiler emits before each access unless it proves the index "
        "in range."), "",
    ]


def _semantics_section() -> list[str]:
    return [
        "## Words, branches and sentrons", "",
        ("- The three ops of a word all read the registers as they were before the word, "
        "then all write. No two ops of a word write one register and no op reads a "
        "register another op of the same word writes (contract 2; the verifier checks)."),
        ("- Branches sit in the D slot and take effect after the whole word executes: the "
        "S and C ops of a branching word always run. `DBR.<cc>.<t>` compares like "
        "`DCMP`; `DBNZ`/`DBZ` test a register; `DJMP` is unconditional. Targets must lie "
        "inside the kernel's own words."),
        ("- `DHALT` ends the sentron after its word. The last word of every kernel ends in "
        "`DHALT` or `DJMP`, so control never falls off the end of a kernel."),
        ("- `DLOOP count, @end` is a zero-overhead hardware loop: the words after the "
        "DLOOP word through `end` (inclusive) run `count` times (`count` read as a signed "
        "i64; if it is <= 0 control goes to the word after `end`). The loop-back from "
        "`end` to the first body word is done by the sequencer: it takes no slot, is not "
        "an op and is never mispredicted (nor is the exit: the sequencer knows the "
        "count). The DLOOP word itself is one D op of latency class branch. The verifier "
        "requires a non-empty body after the DLOOP inside the kernel, holding no branch, "
        "`DHALT` or `DLOOP` (one level, straight-line), and entered only by falling "
        "through from its DLOOP: no branch targets a body word. A DLOOP may follow "
        "another loop or sit inside a branch-formed outer loop. The deps byte follows "
        "stream order, as everywhere (the loop-back is not a stream neighbour)."),
        ("- `SGATHERI.<t> rd, coord, #offset, #step` and `SSCATTRI.<t> coord, rs, "
        "#offset, #step` access coord + offset exactly like `SGATHER`/`SSCATTR` (same "
        "region and bounds checks, same errors), then write coord + step back to the "
        "coordinate register (a 128-bit add with carry, like `SINDEX` along D0). Both "
        "immediates are signed 16-bit (fields lo and hi). The coordinate register is "
        "usedef: read and written by the op, so it counts for the deps byte, word "
        "independence and register allocation. An access that faults leaves it "
        "unchanged; a stepped coordinate outside its tensor is fine until an access "
        "uses it."),
        ("- Sentrons run the same kernel (SPMD). `CSID`/`CNUM` give the id and count. "
        "`CSEND` never blocks (an unbounded FIFO per ordered pair); `CRECV` blocks. `CBAR` "
        "is a barrier of all sentrons; `CREDUCE` folds in sentron order 0, 1, 2, ... "
        "(deterministic); `CCAST rd, rs, root` gives root's `rs` to all. A deadlock is "
        "a runtime error naming each waiting sentron and the op it waits in."),
        ("- A scalar is sent by `CPACK` into lane 0 of an `m` register then `CSEND`, and "
        "received by `CRECV` then `CUNPK` of lane 0. The phextcc extensions `CSENDR rs, "
        "dst` (sends the message (rs, 0, 0, 0)) and `CRECVR rd, src` (rd = lane 0 of the "
        "next message) do each in one C op on the same FIFOs, so either form receives "
        "what the other sent. Their errors and waits are reported as `CSEND`/`CRECV`."),
        ("- `DARG` reads a scalar parameter (bool as 0/1, i32 sign-extended, f32 bits); "
        "`DSYM` reads a shape symbol as i64 in the order of the kernel's symbol list."),
        ("- Integer ops wrap; `DDIV`/`DREM` truncate toward zero, trap on division by "
        "zero, and INT_MIN / -1 = INT_MIN, INT_MIN % -1 = 0. Float ops are IEEE in the "
        "op's precision with no reassociation or contraction; `DMIN`/`DMAX` propagate "
        "NaN with -0.0 < +0.0; `DEXP`/`DLOG`/`DTANH` follow the C library. `DCVT` "
        "float to int truncates and saturates (NaN -> 0); int to float rounds to "
        "nearest."), "",
        "## Vector width", "",
        (f"Bits {WIDTH_SHIFT}..{WIDTH_SHIFT + WIDTH_BITS - 1} of every op hold a vector "
        "width w (lanes = 1 << w). ISA 0.1 has scalar ops only: w must be 0 and the "
        "verifier rejects any other value. The field keeps room for vector variants "
        "without a new encoding."), "",
        "## Latency classes", "",
        "Cycle profiles give each class a cycle count (a realistic Zen 4 profile by "
        "default): " + ", ".join(f"`{c}`" for c in LATENCY_CLASSES) + ".", "",
    ]


def _decisions_section() -> list[str]:
    return [
        "## Where the spec is silent or wrong", "",
        ("- **Types.** The spec's ops are untyped; ours carry an element type in the "
        "opcode (`.i32 .i64 .f32 .f64`) and a vector width field."),
        ("- **Control flow.** The spec mentions D-pipe branches but lists none. We define "
        "`DBR.<cc>.<t>`, `DBNZ`, `DBZ`, `DJMP`, `DHALT` and `DLOOP` (all marked "
        "extension)."),
        ("- **Coordinate packing.** The prototype's 64-bit packing loses two bits of "
        "dimension 5; we pack one 128-bit integer as in the spec's prose."),
        ("- **Addressing.** `SGATHER`/`SSCATTR` take a coordinate register plus a signed "
        "immediate offset along D0, and `SINDEX` adds offset * 2048**dim in one op, so "
        "a loop can step its addresses without a separate add for each access. The "
        "post-increment forms `SGATHERI`/`SSCATTRI` fold the step into the access "
        "itself, so a streaming loop needs no S op besides its loads and stores."),
        ("- **Loop control.** The spec has none. A counter and compare-and-branch cost "
        "D slots every iteration; `DLOOP` (a zero-overhead hardware loop in the style "
        "of Hexagon's `loop0` or TI C6x `SPLOOP`) hands the loop-back to the sequencer, "
        "which takes no slot. Only real slot ops count as ops in ops/cycle: not NOPs "
        "and not the sequencer's loop control."),
        ("- **Selects.** The spec's `DSEL rd, rs1, rs2, flags` reads flags; ours reads a "
        "condition register (`rd = rc != 0 ? rs1 : rs2`), produced by `DCMP`."),
        ("- **Kernel interface.** Arguments, shape symbols, bounds checks, constants and "
        "spills are not in the spec: `DARG`, `DSYM`, `DCHK`, `DLDC`, `SBASE` and the "
        "spill/fill ops are phextcc extensions."),
        ("- **deps bits 6-7.** Reserved in the spec; we use them for C -> D/S and S -> C "
        "dependences."),
        ("- **Latencies.** The spec's figures are optimistic for Zen 4; ops name a "
        "latency class and the cycle model holds the numbers as data."),
        ("- **Reserved ops.** The v0.2 ops, `SDEDUP` and `CROUTE` have opcodes so that "
        "files naming them decode, but the verifier rejects them as reserved."), "",
    ]


def render() -> str:
    """The full text of docs/isa.md."""
    lines = [
        f"# The vTPU instruction set, ISA {ISA_VERSION[0]}.{ISA_VERSION[1]}", "",
        ("Generated from `phextcc/backend/isa.py` by `python -m phextcc.backend.isa_doc`; "
        "do not edit by hand. The binary container is described in docs/siw-format.md."),
        "",
        (f"{len(ISA)} opcodes in {len({op.family for op in ISA})} families; marks: "
        "*extension* = defined by phextcc, not in the vTPU spec; *reserved* = decoded "
        "but rejected by the verifier."), "",
        *_encoding_section(),
        *_registers_section(),
        *_enum_section(),
        "## Operations", "",
        ("Operands are written `name:kind/role@field` (role def = written, use = read, "
        "usedef = read and written, none = not a register)."), "",
        *_pipe_sections(),
        *_deps_section(),
        *_coordinate_section(),
        *_semantics_section(),
        *_decisions_section(),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else DOC_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
