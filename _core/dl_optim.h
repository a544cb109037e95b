/*
 * The optimiser's elementwise loops (optim.pxd), in C so that they can be kept scalar.
 *
 * A model writes its gradient a few doubles at a time just before the update reads it; a
 * vectorised update then loads two doubles that were stored one by one, which the CPU
 * cannot forward from its store buffer (a stall of some ten cycles, a third of a Dyson step
 * at N = 2). The arrays are small (N^2 entries at most in the usual settings), so the scalar
 * loop costs nothing. Vectorisation never changes an elementwise result: this is speed only.
 */
#ifndef DL_OPTIM_H
#define DL_OPTIM_H

#include <stdint.h>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("no-tree-vectorize")
#endif

/* w[i] <- w[i] - rate g[i]: a multiply, then a subtraction (no fused multiply-add). */
static void dl_sgd_update(double *w, const double *g, double rate, intptr_t n)
{
#if defined(__clang__)
#pragma clang loop vectorize(disable)
#endif
    for (intptr_t i = 0; i < n; i++) {
        w[i] -= rate * g[i];
    }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

#endif
