"""Program -> LLVM IR: one function per kernel, driven by per-family emitter tables.

Each kernel NAME becomes ``i32 @k_NAME(ptr ctx, ptr args)``: a thin wrapper that loads the
argument block and calls an always-inlined body whose tensor parameters are ``noalias``
pointers. In the body:

- every r register is one alloca of the type ``analysis.register_types`` chose, every p
  register one i128 alloca, every m register four i64 allocas; mem2reg/SROA turn them into
  SSA values, so nothing of the register file stays in memory inside loops;
- every SIW index that starts a basic block (entry, branch targets, fall-throughs after
  branches, hardware loop bodies and exits) is one LLVM block, so SIW loops are natural
  loops; a ``DLOOP`` stores its trip count in one i64 alloca and the last word of its
  body counts it down and branches back (a counted loop LLVM can vectorise);
- a word first evaluates all three ops (every register read happens before any write of
  the same word), in ``WORD_EXECUTION_ORDER`` (C, S, D: like the simulator, so a trap
  leaves the same side effects behind), then stores their results, then takes its branch;
- errors store their details in the context and return an ErrorCode (see layout.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from llvmlite import ir

from phextcc.backend.hardware_loops import HardwareLoop, loops_by_end
from phextcc.backend.isa import Effect, Kind, RegClass, Role, Type
from phextcc.backend.program import Instr, KernelInfo, Program
from runtime.jit import analysis, versioning
from runtime.jit.irtypes import (
    DTYPE_TYPE,
    I1,
    I32,
    I64,
    I128,
    LLVM_TYPE,
    PTR,
    const_int,
    convert_repr,
)
from runtime.jit.layout import CtxField, ErrorCode


@dataclass(frozen=True)
class JitOptions:
    """What the translation depends on besides the program (part of the cache key)."""

    opt_level: int = 3
    checks: bool = True
    fastmath: bool = False
    assume_noalias: bool = True  # tensor arguments never overlap (checked at launch)


@dataclass
class Write:
    """A register write, applied after every op of the word has read its operands."""

    regclass: RegClass
    index: int
    value: ir.Value
    type: Type | None = None  # the value's type for r registers; lane for m registers


@dataclass
class WordEffects:
    writes: list[Write] = field(default_factory=list)
    terminator: Callable[[], None] | None = None  # emitted after the writes


Emitter = Callable[["KernelTranslator", Instr, int], WordEffects]


ALLOCATOR_SYMBOL = "phx_region_alloc"


def kernel_symbol(kernel: KernelInfo) -> str:
    return f"k_{kernel.name}"


class KernelTranslator:
    """Translates one kernel's SIW range into the current module."""

    def __init__(self, program: Program, kernel: KernelInfo, module: ir.Module,
                 runtime: RuntimeDecls, options: JitOptions,
                 emitters: dict[str, Emitter]) -> None:
        self.program = program
        self.kernel = kernel
        self.module = module
        self.runtime = runtime
        self.options = options
        self.emitters = emitters
        self.reg_types = analysis.register_types(program, kernel)
        self.regions = analysis.region_facts(program, kernel)
        self.uses_cpipe = kernel.uses_cpipe
        # Regions reached through the table may be any tensor: noalias would then lie.
        self.noalias = options.assume_noalias and not self._needs_region_table()
        self.builder: ir.IRBuilder = ir.IRBuilder()
        self.fast_flags: tuple[str, ...] = ("fast",) if options.fastmath else ()
        # Loops translated twice behind one range check (versioning.py), and the
        # (word, pipe) ops the copy being emitted may leave unchecked.
        self.versioned = versioning.versioned_loops(program, kernel, self.regions,
                                                    options.checks)
        self.proven_ops: frozenset[tuple[int, str]] = frozenset()
        self.loop_ends = loops_by_end(program, kernel)

    # -- set-up -------------------------------------------------------------
    def _needs_region_table(self) -> bool:
        for index in range(self.kernel.entry, self.kernel.entry + self.kernel.length):
            s_op = self.program.words[index].s
            if s_op.info.effects & (Effect.READ_MEM | Effect.WRITE_MEM | Effect.ALLOC):
                state = self.regions.get(index)
                if state is None:
                    continue
                coord = [v for o, v in zip(s_op.info.operands, s_op.args)
                         if o.kind is Kind.P and o.role in (Role.USE, Role.USEDEF)]
                if s_op.info.effects & Effect.ALLOC or any(
                        state[p] == analysis.UNKNOWN for p in coord):
                    return True
        return False

    def translate(self) -> ir.Function:
        body = self._declare_body()
        self._emit_body(body)
        return self._emit_wrapper(body)

    def _declare_body(self) -> ir.Function:
        params: list[ir.Type] = [PTR]
        for param in self.kernel.params:
            params.append(PTR if param.is_tensor else I64)
        params += [I64] * len(self.kernel.symbols)
        body = ir.Function(self.module, ir.FunctionType(I32, params),
                           f"body_{self.kernel.name}")
        body.linkage = "internal"
        body.attributes.add("alwaysinline")
        body.attributes.add("nounwind")
        for arg, param in zip(body.args[1:], self.kernel.params):
            if param.is_tensor and self.noalias:
                arg.add_attribute("noalias")
        return body

    def _emit_wrapper(self, body: ir.Function) -> ir.Function:
        fn = ir.Function(self.module, ir.FunctionType(I32, [PTR, PTR]),
                         kernel_symbol(self.kernel))
        fn.attributes.add("nounwind")
        builder = ir.IRBuilder(fn.append_basic_block("entry"))
        ctx, args = fn.args
        values: list[ir.Value] = [ctx]
        slot = 0
        for param in self.kernel.params:
            address = builder.gep(args, [ir.Constant(I64, slot)], inbounds=True,
                                  source_etype=I64)
            values.append(builder.load(address, typ=PTR if param.is_tensor else I64))
            slot += 1
        for _ in self.kernel.symbols:
            address = builder.gep(args, [ir.Constant(I64, slot)], inbounds=True,
                                  source_etype=I64)
            values.append(builder.load(address, typ=I64))
            slot += 1
        builder.ret(builder.call(body, values))
        return fn

    def _emit_body(self, body: ir.Function) -> None:
        self.function = body
        entry = body.append_basic_block("entry")
        self.builder = builder = ir.IRBuilder(entry)
        self.ctx = body.args[0]
        param_values = body.args[1:1 + len(self.kernel.params)]
        self.symbols = list(body.args[1 + len(self.kernel.params):])
        self.tensor_base = {i: v for i, (v, p) in enumerate(zip(param_values, self.kernel.params))
                            if p.is_tensor}
        self.scalar_bits = {i: v for i, (v, p) in enumerate(zip(param_values, self.kernel.params))
                            if not p.is_tensor}
        self.sid = self.ctx_field(CtxField.SID)
        self.num = self.ctx_field(CtxField.NUM)
        self.region_table = self.ctx_field(CtxField.REGIONS, PTR)
        self._alloc_registers()
        self._compute_extents()
        blocks = {index: body.append_basic_block(f"w{index}")
                  for index in analysis.basic_blocks(self.program, self.kernel)}
        self.blocks = blocks
        builder.branch(blocks[self.kernel.entry])
        resume = self.kernel.entry
        for index in range(self.kernel.entry, self.kernel.entry + self.kernel.length):
            if index < resume:
                continue  # inside a loop emitted by versioning.emit_versioned_loop
            if index in blocks:
                if not builder.block.is_terminated:
                    builder.branch(blocks[index])
                builder.position_at_end(blocks[index])
            elif builder.block.is_terminated:
                continue  # unreachable word after an unconditional branch
            if index not in self.regions:
                builder.unreachable()  # the region analysis never reached this word
                continue
            if index in self.versioned:
                resume = versioning.emit_versioned_loop(self, self.versioned[index])
                continue
            self._emit_word(index)
        if not builder.block.is_terminated:
            builder.unreachable()  # the verifier guarantees a final DHALT/DJMP

    def _alloc_registers(self) -> None:
        builder = self.builder
        self.r_slots = {}
        for reg in range(RegClass.R.count):
            ty = LLVM_TYPE[self.reg_types[reg]]
            slot = builder.alloca(ty, name=f"r{reg}")
            builder.store(ir.Constant(ty, 0), slot)
            self.r_slots[reg] = slot
        self.p_slots = {}
        for reg in range(RegClass.P.count):
            slot = builder.alloca(I128, name=f"p{reg}")
            builder.store(ir.Constant(I128, 0), slot)
            self.p_slots[reg] = slot
        self.m_slots = {}
        for reg in range(RegClass.M.count):
            lanes = []
            for lane in range(4):
                slot = builder.alloca(I64, name=f"m{reg}.{lane}")
                builder.store(ir.Constant(I64, 0), slot)
                lanes.append(slot)
            self.m_slots[reg] = lanes
        # Arrays of i64 slots addressed by gep (SROA splits constant-indexed ones).
        words = max(self.kernel.spill_words, 1)
        self.spill = builder.alloca(I64, size=ir.Constant(I32, words), name="spill")
        for slot in range(self.kernel.spill_words):
            builder.store(ir.Constant(I64, 0), self.spill_slot(slot))
        self.message = builder.alloca(I64, size=ir.Constant(I32, 4), name="message")
        # Trips left of the running hardware loop (one suffices: bodies do not nest).
        self.loop_remaining = builder.alloca(I64, name="loop.remaining")
        builder.store(ir.Constant(I64, 0), self.loop_remaining)

    def spill_slot(self, slot: int) -> ir.Value:
        return self.builder.gep(self.spill, [ir.Constant(I64, slot)], inbounds=True,
                                source_etype=I64)

    def message_lane(self, lane: int) -> ir.Value:
        return self.builder.gep(self.message, [ir.Constant(I64, lane)], inbounds=True,
                                source_etype=I64)

    def _compute_extents(self) -> None:
        """Extents and element counts of every tensor as entry-block SSA values, so that
        every bounds check compares against a loop-invariant limit."""
        builder = self.builder
        self.extents: dict[int, list[ir.Value]] = {}
        self.numel: dict[int, ir.Value] = {}
        for index, param in enumerate(self.kernel.params):
            if not param.is_tensor:
                continue
            dims: list[ir.Value] = []
            for dim in param.dims:
                if isinstance(dim, int):
                    dims.append(ir.Constant(I64, dim))
                else:
                    dims.append(self.symbols[self.kernel.symbols.index(dim)])
            self.extents[index] = dims
            total: ir.Value = ir.Constant(I64, 1)
            for dim_value in dims:
                total = builder.mul(total, dim_value)
            self.numel[index] = builder.zext(total, I128)

    # -- register access ----------------------------------------------------
    def read_r(self, reg: int, t: Type | None = None) -> ir.Value:
        """Register ``reg`` as a value of type ``t`` (None: its 64-bit pattern)."""
        held = self.reg_types[reg]
        value = self.builder.load(self.r_slots[reg])
        return convert_repr(self.builder, value, held, Type.I64 if t is None else t)

    def read_p(self, reg: int) -> ir.Value:
        return self.builder.load(self.p_slots[reg])

    def read_m(self, reg: int) -> list[ir.Value]:
        return [self.builder.load(slot) for slot in self.m_slots[reg]]

    def apply(self, write: Write) -> None:
        builder = self.builder
        if write.regclass is RegClass.R:
            held = self.reg_types[write.index]
            written = Type.I64 if write.type is None else write.type
            value = convert_repr(builder, write.value, written, held)
            builder.store(value, self.r_slots[write.index])
        elif write.regclass is RegClass.P:
            builder.store(write.value, self.p_slots[write.index])
        else:
            lane = int(write.type) if write.type is not None else 0
            builder.store(write.value, self.m_slots[write.index][lane])

    # -- context and errors -------------------------------------------------
    def ctx_field(self, which: CtxField, ty: ir.Type = I64) -> ir.Value:
        address = self.builder.gep(self.ctx, [ir.Constant(I64, int(which))], inbounds=True,
                                   source_etype=I64)
        return self.builder.load(address, typ=ty)

    def store_ctx(self, which: CtxField, value: ir.Value) -> None:
        address = self.builder.gep(self.ctx, [ir.Constant(I64, int(which))], inbounds=True,
                                   source_etype=I64)
        if value.type != I64:
            value = self.builder.zext(value, I64) if value.type.width < 64 else \
                self.builder.trunc(value, I64)
        self.builder.store(value, address)

    def fail_unless(self, ok: ir.Value, code: ErrorCode | ir.Value, word: int,
                    details: tuple[ir.Value | int, ...] = ()) -> None:
        """Continue when ``ok``; else record the error and leave the kernel. The failing
        branch exits (never rejoins), so a checked loop still vectorises."""
        builder = self.builder
        fail = self.function.append_basic_block(f"fail{word}")
        cont = self.function.append_basic_block(f"ok{word}")
        branch = builder.cbranch(ok, cont, fail)
        branch.set_metadata("prof", self.module.add_metadata(
            [ir.MetaDataString(self.module, "branch_weights"), ir.Constant(I32, 1048575),
             ir.Constant(I32, 1)]))
        builder.position_at_end(fail)
        self.leave(code, word, details)
        builder.position_at_end(cont)

    def leave(self, code: ErrorCode | ir.Value, word: int,
              details: tuple[ir.Value | int, ...] = ()) -> None:
        """Record an error (or a halt when code is OK) and return from the kernel."""
        builder = self.builder
        code_value = ir.Constant(I32, int(code)) if isinstance(code, int) else code
        if not (isinstance(code, int) and code == ErrorCode.OK):
            self.store_ctx(CtxField.ERR_CODE, code_value)
            self.store_ctx(CtxField.ERR_WORD, ir.Constant(I64, word))
            for which, detail in zip((CtxField.ERR_A, CtxField.ERR_B, CtxField.ERR_C), details):
                value = ir.Constant(I64, detail) if isinstance(detail, int) else detail
                self.store_ctx(which, value)
        if self.uses_cpipe:
            builder.call(self.runtime.finish, [self.ctx, code_value])
        builder.ret(code_value)

    # -- one word -----------------------------------------------------------
    def emit_word(self, index: int) -> None:
        self._emit_word(index)

    def proven_in_range(self, word: int, pipe: str) -> bool:
        """Whether the check of ``word``'s op in ``pipe`` ("S": the access, "D": the
        DCHK) is proven to pass in the code being emitted (the unchecked copy of a
        versioned loop)."""
        return (word, pipe) in self.proven_ops

    def _emit_word(self, index: int) -> None:
        word = self.program.words[index]
        effects: list[WordEffects] = []
        for instr in word.ops_in_execution_order:  # traps and side effects in that order
            if instr.is_nop:
                continue
            emitter = self.emitters.get(instr.info.family)
            if emitter is None:
                effects.append(self.unsupported(instr, index))
                continue
            effects.append(emitter(self, instr, index))
        for effect in effects:
            for write in effect.writes:
                self.apply(write)
        for effect in effects:
            if effect.terminator is not None:
                effect.terminator()
                return
        loop = self.loop_ends.get(index)
        if loop is not None:
            self._loop_back(loop)
            return
        following = index + 1
        if following in self.blocks:
            self.builder.branch(self.blocks[following])

    def _loop_back(self, loop: HardwareLoop) -> None:
        """The sequencer at the end of a hardware loop body: back to the first body word
        while trips remain. A plain down-counter whose start the DLOOP set, so LLVM
        knows the trip count and the loop is a natural counted loop."""
        builder = self.builder
        remaining = builder.load(self.loop_remaining)
        builder.store(builder.sub(remaining, ir.Constant(I64, 1)), self.loop_remaining)
        again = builder.icmp_signed(">", remaining, ir.Constant(I64, 1))
        builder.cbranch(again, self.blocks[loop.first], self.blocks[loop.exit])

    def unsupported(self, instr: Instr, index: int, detail: int = 0) -> WordEffects:
        """An op that cannot execute fails only when reached (like the simulator);
        ``detail`` is 1 + the RedOp of an undefined reduction."""
        self.leave(ErrorCode.UNSUPPORTED, index, (detail, 0, instr.info.opcode))
        # Keep emitting the rest of the word into a dead block.
        self.builder.position_at_end(self.function.append_basic_block(f"dead{index}"))
        return WordEffects()

    # -- helpers shared by emitters -----------------------------------------
    def region_of(self, index: int, preg: int) -> int:
        return self.regions[index][preg]

    def tensor_type(self, param: int) -> Type:
        return DTYPE_TYPE[self.kernel.params[param].dtype]

    def i64(self, value: int) -> ir.Constant:
        return const_int(I64, value)

    def is_nonzero(self, bits: ir.Value) -> ir.Value:
        return self.builder.icmp_unsigned("!=", bits, ir.Constant(bits.type, 0))

    def bool_bits(self, flag: ir.Value) -> ir.Value:
        assert flag.type == I1
        return self.builder.zext(flag, I64)


class RuntimeDecls:
    """Functions the kernels call: libm, the C-pipe helpers, the region resolver."""

    def __init__(self, module: ir.Module, uses_cpipe: bool) -> None:
        from runtime.jit import cpipe, regions  # emitted on demand into this module

        self.module = module
        self.libm: dict[str, ir.Function] = {}
        self.region_element = regions.define_region_element(module)
        self.cpipe = cpipe.CpipeRuntime(module) if uses_cpipe else None
        self.finish = self.cpipe.finish if self.cpipe is not None else None

    def allocator(self) -> ir.Function:
        """i32 phx_region_alloc(ctx, operation, size, coord_lo, coord_hi, out, word): the
        launcher's SALLOC (operation 0) / SFREE (1), bound at JIT time."""
        name = ALLOCATOR_SYMBOL
        if name not in self.module.globals:
            fn = ir.Function(self.module, ir.FunctionType(
                I32, [PTR, I64, I64, I64, I64, PTR, I64]), name)
            fn.attributes.add("nounwind")
        return self.module.globals[name]

    def libm_function(self, name: str, t: Type) -> ir.Function:
        if name not in self.libm:
            ty = LLVM_TYPE[t]
            fn = ir.Function(self.module, ir.FunctionType(ty, [ty]), name)
            fn.attributes.add("nounwind")
            self.libm[name] = fn
        return self.libm[name]


def translate_program(program: Program, options: JitOptions, triple: str = "",
                      data_layout: str = "") -> ir.Module:
    """The LLVM module of every kernel of a verified program."""
    from runtime.jit.emitters import EMITTERS

    module = ir.Module(name=program.source_name or "siw")
    module.triple = triple
    module.data_layout = data_layout
    runtime = RuntimeDecls(module, any(k.uses_cpipe for k in program.kernels))
    for kernel in program.kernels:
        KernelTranslator(program, kernel, module, runtime, options, EMITTERS).translate()
    return module
