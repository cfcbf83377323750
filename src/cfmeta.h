/* cfmeta.h -- netCDF/CF metadata of the results: dimension names, units,
 * cell methods.
 *
 * The rules that decide how a result is described to netCDF readers,
 * kept apart from HDF5 so they are unit-tested alone.  A result's leading
 * cell axes take the input's dimension names (ncdims.h); every other axis
 * gets a name from the result itself: `bin` for histogram counts,
 * `bin_edge` for their edges, `quantile` for quantile values and
 * probabilities, `key` for group-by results, and NAME_dimK (K from 0)
 * for anything else, such as a plugin's extra axes.  Only statistics in
 * the data's own unit carry its units, long_name and standard_name; var
 * carries the unit squared when the unit is a product of plain powers
 * ("K", "m s-1", "kg m-2 s-1"), and nothing otherwise.  No HDF5, no MPI.
 */
#ifndef H5B_CFMETA_H
#define H5B_CFMETA_H

#include <stddef.h>

/* How a result relates to its column's unit. */
enum cfmeta_unit { CFMETA_NO_UNIT = 0, CFMETA_SAME_UNIT, CFMETA_UNIT_SQUARED };

/* The unit relation of result name (as written: "mean",
 * "quantiles/values", "groupby/var", ...). */
enum cfmeta_unit cfmeta_unit_of(const char *name);

/* The CF cell method of result name ("minimum" for "min", ...), or NULL
 * when it has none (counts, histograms, quantiles, group-by results). */
const char *cfmeta_method(const char *name);

/* The unit u squared, in UDUNITS' plain syntax, into out (n bytes):
 * every space-separated term a name with an optional integer exponent
 * ("m", "s-1") gets its exponent doubled ("K" -> "K2", "m s-1" ->
 * "m2 s-2"), and "1" stays "1".  Returns 0, or -1 (out empty) when u is
 * anything else ("days since 2000-01-01", "degC/100", "") or does not
 * fit. */
int cfmeta_units_squared(const char *u, char *out, size_t n);

/* The name of axis `axis` of result name that is not one of its cell
 * axes (per_cell: whether its leading axes are cells; extra: its index
 * among the other axes, from 0), into out (n bytes). */
void cfmeta_axis_name(const char *name, int per_cell, int extra, char *out,
                      size_t n);

/* The coordinate variable a result's named axis gets from a sibling
 * result: "probabilities" for `quantile`, "keys" for `key`; NULL for
 * axes without one. */
const char *cfmeta_axis_coord(const char *axis);

#endif
