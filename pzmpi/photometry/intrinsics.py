"""Compiled primitives numba lacks: a float's bits as an integer and back, unaligned loads, memcpy.

Written as LLVM bitcasts and loads, so that loops using them still vectorise.
"""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def float_bits(typingctx, value):
    """The IEEE bits of a float64, as an int64."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))
    return types.int64(types.float64), codegen


@intrinsic
def bits_float(typingctx, value):
    """The float64 whose IEEE bits are an int64."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))
    return types.float64(types.int64), codegen


@intrinsic
def load_u64(typingctx, array, offset):
    """The 8 little-endian bytes of a uint8 array starting at any ``offset``, in one unaligned load.

    Unchecked: the caller makes sure ``offset + 8`` is within the array.
    """
    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        address = builder.bitcast(builder.gep(data, [args[1]]), context.get_value_type(types.uint64).as_pointer())
        return builder.load(address, align=1)
    return types.uint64(array, offset), codegen


@intrinsic
def copy_bytes(typingctx, destination, destination_offset, source, source_offset, count):
    """memcpy of ``count`` bytes between two arrays, at byte offsets (numba's slice copies go a byte at a time).

    Unchecked: the caller makes sure both ranges are within their arrays and do not overlap.
    """
    def codegen(context, builder, signature, args):
        byte_pointer = context.get_value_type(types.uint8).as_pointer()
        target = context.make_array(signature.args[0])(context, builder, args[0]).data
        origin = context.make_array(signature.args[2])(context, builder, args[2]).data
        target = builder.gep(builder.bitcast(target, byte_pointer), [args[1]])
        origin = builder.gep(builder.bitcast(origin, byte_pointer), [args[3]])
        cgutils.raw_memcpy(builder, target, origin, args[4], 1)
        return context.get_dummy_value()
    return types.none(destination, destination_offset, source, source_offset, count), codegen
