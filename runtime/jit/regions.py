"""The checked region-table lookup: the fallback for S ops whose region is not known
statically (and the path SALLOC regions always take).

``region_element(table, addr, type, size)`` returns a pointer to the element or null when
the region does not exist, holds another element type, or the offset is out of range.
The rules are the simulator's (runtime/phext_memory.py): region = D10 (flag bits ignored),
offset = D0..D9, a parameter region is accessed only as its own dtype, an SALLOC region
as any type with ``bytes // size`` elements.
"""

from __future__ import annotations

from llvmlite import ir

from phextcc.backend.isa import OFFSET_BITS, PHEXT_DIM_BITS
from runtime.jit.irtypes import I8, I64, I128, PTR
from runtime.jit.layout import REGION_SLOTS, UNTYPED_REGION, RegionField

REGION_ELEMENT = "region_element"


def define_region_element(module: ir.Module) -> ir.Function:
    fn = ir.Function(module, ir.FunctionType(PTR, [PTR, I128, I64, I64]), REGION_ELEMENT)
    fn.linkage = "internal"
    fn.attributes.add("nounwind")
    table, addr, type_code, size = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    region = b.and_(b.trunc(b.lshr(addr, ir.Constant(I128, OFFSET_BITS)), I64),
                    ir.Constant(I64, (1 << PHEXT_DIM_BITS) - 1))
    offset = b.and_(addr, ir.Constant(I128, (1 << OFFSET_BITS) - 1))
    entry = b.gep(table, [b.mul(region, ir.Constant(I64, REGION_SLOTS))], inbounds=True,
                  source_etype=I64)

    def field(which: RegionField, ty: ir.Type) -> ir.Value:
        address = b.gep(entry, [ir.Constant(I64, int(which))], inbounds=True, source_etype=I64)
        return b.load(address, typ=ty)

    kind = field(RegionField.KIND, I64)
    count = field(RegionField.COUNT, I64)
    base = field(RegionField.BASE, PTR)
    untyped = b.icmp_unsigned("==", kind, ir.Constant(I64, UNTYPED_REGION))
    typed = b.icmp_unsigned("==", kind, b.add(type_code, ir.Constant(I64, 1)))
    elements = b.select(untyped, b.udiv(count, size), count)
    inside = b.icmp_unsigned("<", offset, b.zext(elements, I128))
    ok = b.and_(b.or_(untyped, typed), inside)
    byte_offset = b.mul(b.trunc(offset, I64), size)
    element = b.gep(base, [byte_offset], source_etype=I8)
    b.ret(b.select(ok, element, ir.Constant(PTR, None)))
    return fn
