"""Grid cells: a meeting's place as one integer, so that a patch of the map is a few key ranges.

The globe is cut into 2^20 x 2^20 cells of latitude and longitude (about 40 m
east-west at the equator) and a cell's two indexes are interleaved bit by bit (a
Morton, or Z-order, key, as a geohash does). Dropping the last 2s bits of the key
gives the cell 2^s times larger that holds it, so the meetings of any coarser cell
are one range of keys in the index, whatever its size. Longitude wraps: the cell
east of the last one is the first.
"""

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
    column = int((longitude + 180.0) / 360.0 * SIDE) % SIDE
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
    ranges: list[tuple[int, int]] = []
    for key in sorted(keys):
        first, last = key << (2 * shift), ((key + 1) << (2 * shift)) - 1
        if ranges and ranges[-1][1] + 1 == first:
            ranges[-1] = (ranges[-1][0], last)
        else:
            ranges.append((first, last))
    return ranges
