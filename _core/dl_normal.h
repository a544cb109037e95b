/*
 * Standard normal variates from a NumPy bit generator (numpy/random/bitgen.h).
 *
 * A 256-layer ziggurat (Marsaglia and Tsang, J. Stat. Softw. 5(8), 2000) written so that
 * the common path has no data-dependent branch but the acceptance test, which is taken
 * 98.8 per cent of the time. NumPy's random_standard_normal uses the same algorithm but
 * branches on the sign bit, which mispredicts half the time; on the kernels' machines this
 * version costs less than half as much per draw, and normals are the kernels' largest cost.
 *
 * One 64-bit word per draw on the fast path: bits 0-7 choose the layer, bit 8 the sign,
 * bits 11-63 the position within the layer (disjoint bits, hence independent).
 *
 * Layer i (0 <= i < 256) is the rectangle [0, x_i] x [f(x_i), f(x_{i+1})] of area v, with
 * f(x) = exp(-x^2/2), x_1 = r > x_2 > ... > x_256 = 0; layer 0 is the base strip plus the
 * tail beyond r, drawn as a rectangle of width x_0 = v / f(r) and the same area.
 *
 * Every function is static: each extension module that includes this header owns a copy
 * of the tables and must call dl_normal_setup() once (at import) before drawing.
 */
#ifndef DL_NORMAL_H
#define DL_NORMAL_H

#include <math.h>
#include <stdint.h>
#include <string.h>
#include "numpy/random/bitgen.h"
#include "numpy/random/distributions.h"  /* random_standard_normal_fill, libnpyrandom */

/*
 * The ziggurat's constants: Marsaglia, G. and Tsang, W. W. (2000), "The ziggurat method
 * for generating random variables", J. Stat. Softw. 5(8). r (the start of the tail, x_1)
 * and v (the common area of the layers) solve the paper's equations for 256 layers of the
 * normal density (the same pair NumPy's 256-layer ziggurat uses).
 */
#define DL_ZIGGURAT_LAYERS 256
#define DL_ZIGGURAT_LAYER_MASK 0xFF     /* bits 0-7 of a draw choose the layer */
#define DL_ZIGGURAT_SIGN_SHIFT 8        /* bit 8 the sign */
#define DL_ZIGGURAT_POSITION_SHIFT 11   /* bits 11-63: a 53-bit position within the layer */
#define DL_TWO_POW_53 9007199254740992.0

static const double dl_zig_r = 3.6541528853610088;
static const double dl_zig_v = 4.92867323399e-3;

/*
 * Marsaglia, G. and Tsang, W. W. (2000), "A simple method for generating gamma variables",
 * ACM Trans. Math. Softw. 26(3), 363-372: d = shape - 1/3, c = 1 / sqrt(9 d), and the
 * squeeze 1 - 0.0331 x^4 that accepts most draws without a logarithm.
 */
#define DL_GAMMA_D_OFFSET (1.0 / 3.0)
#define DL_GAMMA_SQUEEZE 0.0331
static double dl_zig_f[DL_ZIGGURAT_LAYERS + 1];     /* f(x_i) */
static double dl_zig_scale[DL_ZIGGURAT_LAYERS];     /* x_i / 2^53 */
static uint64_t dl_zig_inner[DL_ZIGGURAT_LAYERS];   /* 2^53 x_{i+1} / x_i */

static void dl_normal_setup(void)
{
    const double two53 = DL_TWO_POW_53;
    double x[DL_ZIGGURAT_LAYERS + 1];
    int i;
    x[0] = dl_zig_v / exp(-0.5 * dl_zig_r * dl_zig_r);
    x[1] = dl_zig_r;
    for (i = 1; i < DL_ZIGGURAT_LAYERS - 1; i++) {
        x[i + 1] = sqrt(-2.0 * log(dl_zig_v / x[i] + exp(-0.5 * x[i] * x[i])));
    }
    x[DL_ZIGGURAT_LAYERS] = 0.0;
    for (i = 0; i <= DL_ZIGGURAT_LAYERS; i++) {
        dl_zig_f[i] = exp(-0.5 * x[i] * x[i]);
    }
    for (i = 0; i < DL_ZIGGURAT_LAYERS; i++) {
        dl_zig_scale[i] = x[i] / two53;
        dl_zig_inner[i] = (uint64_t)(two53 * (x[i + 1] / x[i]));
    }
}

/* The rare path: the tail beyond r (layer 0) or a wedge of layer i; loops until accepted. */
static double dl_normal_slow(bitgen_t *gen, int layer, uint64_t position, double sign)
{
    for (;;) {
        double z = (double)position * dl_zig_scale[layer];
        if (layer == 0) {
            /* Marsaglia's exact method for the normal tail beyond r. */
            for (;;) {
                double a = -log(1.0 - gen->next_double(gen->state)) / dl_zig_r;
                double b = -log(1.0 - gen->next_double(gen->state));
                if (b + b > a * a) {
                    return sign * (dl_zig_r + a);
                }
            }
        }
        double y = dl_zig_f[layer]
                   + gen->next_double(gen->state) * (dl_zig_f[layer + 1] - dl_zig_f[layer]);
        if (y < exp(-0.5 * z * z)) {
            return sign * z;
        }
        uint64_t bits = gen->next_uint64(gen->state);
        layer = (int)(bits & DL_ZIGGURAT_LAYER_MASK);
        sign = 1.0 - 2.0 * (double)((bits >> DL_ZIGGURAT_SIGN_SHIFT) & 1);
        position = bits >> DL_ZIGGURAT_POSITION_SHIFT;
        if (position < dl_zig_inner[layer]) {
            return sign * ((double)position * dl_zig_scale[layer]);
        }
    }
}

/* One standard normal variate from gen. */
static inline double dl_ziggurat_one(bitgen_t *gen)
{
    uint64_t bits = gen->next_uint64(gen->state);
    int layer = (int)(bits & DL_ZIGGURAT_LAYER_MASK);
    double sign = 1.0 - 2.0 * (double)((bits >> DL_ZIGGURAT_SIGN_SHIFT) & 1);
    uint64_t position = bits >> DL_ZIGGURAT_POSITION_SHIFT;
    if (position < dl_zig_inner[layer]) {
        return sign * ((double)position * dl_zig_scale[layer]);
    }
    return dl_normal_slow(gen, layer, position, sign);
}

/* out[0:n] = independent standard normal variates drawn from gen. */
static inline void dl_ziggurat_fill(bitgen_t *gen, intptr_t n, double *out)
{
    for (intptr_t i = 0; i < n; i++) {
        out[i] = dl_ziggurat_one(gen);
    }
}

/*
 * Gamma(shape, 1) for shape >= 1 by Marsaglia and Tsang (ACM TOMS 26(3), 2000; constants
 * above), with the ziggurat's normals; shape < 1 through Gamma(shape + 1) U^(1 / shape).
 */
static double dl_ziggurat_gamma(bitgen_t *gen, double shape)
{
    if (shape < 1.0) {
        double u = 1.0 - gen->next_double(gen->state);   /* (0, 1] */
        return dl_ziggurat_gamma(gen, shape + 1.0) * pow(u, 1.0 / shape);
    }
    const double d = shape - DL_GAMMA_D_OFFSET;
    const double c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = dl_ziggurat_one(gen);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = gen->next_double(gen->state);
        if (u < 1.0 - DL_GAMMA_SQUEEZE * (x * x) * (x * x)) {
            return d * v;
        }
        if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) {
            return d * v;
        }
    }
}

/* Where a kernel's standard normals come from. */
enum { DL_NORMALS_ZIGGURAT = 0, DL_NORMALS_NUMPY = 1 };

typedef struct {
    bitgen_t *bitgen;        /* draw from this generator when not NULL ...            */
    int method;              /* ... with DL_NORMALS_ZIGGURAT or DL_NORMALS_NUMPY;     */
    const double *buffer;    /* otherwise read consecutive values from buffer         */
    intptr_t position;       /* (the deterministic path used to test the arithmetic). */
} dl_normal_source;

static inline void dl_draw_normals(dl_normal_source *src, double *out, intptr_t n)
{
    if (src->bitgen == NULL) {
        memcpy(out, src->buffer + src->position, (size_t)n * sizeof(double));
        src->position += n;
    } else if (src->method == DL_NORMALS_ZIGGURAT) {
        dl_ziggurat_fill(src->bitgen, n, out);
    } else {
        /* numpy's own sampler: streams equal to Generator.standard_normal's. */
        random_standard_normal_fill(src->bitgen, (npy_intp)n, out);
    }
}

/*
 * A chi-squared variate with dof degrees of freedom (dof >= 1): 2 Gamma(dof / 2).
 * From a caller's buffer the next value is taken as the chi-squared variate itself.
 */
static inline double dl_draw_chisquare(dl_normal_source *src, double dof)
{
    if (src->bitgen == NULL) {
        return src->buffer[src->position++];
    }
    if (src->method == DL_NORMALS_ZIGGURAT) {
        return 2.0 * dl_ziggurat_gamma(src->bitgen, 0.5 * dof);
    }
    return 2.0 * random_standard_gamma(src->bitgen, 0.5 * dof);
}

/* A uniform integer in [0, max]: numpy's unbiased masked rejection. Buffers give none. */
static inline uint64_t dl_draw_index(dl_normal_source *src, uint64_t max)
{
    return src->bitgen == NULL ? 0 : random_interval(src->bitgen, max);
}

#endif
