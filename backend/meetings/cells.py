"""Grid cells: a meeting's place as one integer, so that a patch of the map is a few key ranges.

The globe is cut into 2^20 x 2^20 cells of latitude and longitude (about 40 m
east-west at the equator) and a cell's two indexes are interleaved bit by bit (a
Morton, or Z-order, key, as a geohash does). Dropping the last 2s bits of the key
gives the cell 2^s times larger that holds it, so the meetings of any coarser cell
are one range of keys in the index, whatever its size. Longitude wraps: the cell
east of the last one is the first.
"""

import math

from django.db.models import BigIntegerField, Func

BITS = 20
SIDE = 1 << BITS
WHOLE_WORLD = (0, (1 << (2 * BITS)) - 1)


def _spread(value: int) -> int:
    """The bits of ``value`` (20 of them) moved to the even positions."""
    result = 0
    for bit in range(BITS):
        result |= ((value >> bit) & 1) << (2 * bit)
    return result


def _indexes(latitude: float, longitude: float) -> tuple[int, int]:
    row = min(int((latitude + 90.0) / 180.0 * SIDE), SIDE - 1)
    # floor, not int: a box's west edge may lie past -180 degrees (it wraps).
    column = math.floor((longitude + 180.0) / 360.0 * SIDE) % SIDE
    return max(row, 0), column


def _key(row: int, column: int) -> int:
    return (_spread(row) << 1) | _spread(column)


def cell_of(latitude: float | None, longitude: float | None) -> int | None:
    """The finest cell holding the point; None without one."""
    if latitude is None or longitude is None:
        return None
    return _key(*_indexes(latitude, longitude))


def block(latitude: float, longitude: float, shift: int) -> list[tuple[int, int]]:
    """Key ranges (inclusive) of the 3 x 3 cells 2^shift times the finest around the point.

    Adjacent ranges are merged; at shift 20 the one cell is the whole world.
    """
    row, column = _indexes(latitude, longitude)
    side = SIDE >> shift
    row, column = row >> shift, column >> shift
    keys = {
        _key(row + d_row, (column + d_column) % side)
        for d_row in (-1, 0, 1)
        for d_column in (-1, 0, 1)
        if 0 <= row + d_row < side
    }
    return key_ranges(keys, shift)


def key_ranges(keys, shift: int) -> list[tuple[int, int]]:
    """The finest cells' key ranges (inclusive) within the given cells 2^shift times the
    finest, in order, adjacent ranges merged."""
    ranges: list[tuple[int, int]] = []
    for key in sorted(set(keys)):
        first, last = key << (2 * shift), ((key + 1) << (2 * shift)) - 1
        if ranges and ranges[-1][1] + 1 == first:
            ranges[-1] = (ranges[-1][0], last)
        else:
            ranges.append((first, last))
    return ranges


def keys_over(
    south: float, north: float, west: float, east: float, shift: int, most: int
) -> list[int] | None:
    """The keys of the cells 2^shift times the finest that cover a box; None if over ``most``.

    ``west`` may be below -180 or ``east`` above 180 (a box across the antimeridian).
    """
    side = SIDE >> shift
    first_row, last_row = _indexes(south, 0.0)[0] >> shift, _indexes(north, 0.0)[0] >> shift
    first_column, last_column = _indexes(0.0, west)[1] >> shift, _indexes(0.0, east)[1] >> shift
    columns = (last_column - first_column) % side + 1 if east - west < 360 else side
    if (last_row - first_row + 1) * columns > most:
        return None
    return [
        _key(row, (first_column + step) % side)
        for row in range(first_row, last_row + 1)
        for step in range(columns)
    ]


def cover(
    south: float, north: float, spans: list[tuple[float, float]], most: int
) -> list[tuple[int, int]]:
    """Key ranges of the finest cells of one size that cover a box in at most ``most`` cells.

    ``spans`` are the box's west-east ranges (two across the antimeridian). However large
    the box, the whole world is one cell.
    """
    for shift in range(BITS + 1):
        keys: list[int] = []
        for west, east in spans:
            found = keys_over(south, north, west, east, shift, most - len(keys))
            if found is None:
                break
            keys += found
        else:
            return key_ranges(keys, shift)
    return [WHOLE_WORLD]


# An area is a cell 2^8 times the finest each way (about 0.09 x 0.04 degrees, 7 x 5 km at
# 45 degrees); its key is the cell's key without its last 16 bits.
AREA_SHIFT = 8


class Area(Func):
    """The area of a row's cell, in SQL; the divisor written out, so an index on it is used."""

    template = "(%(expressions)s / 65536)"
    output_field = BigIntegerField()
