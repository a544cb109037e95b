/*
 * The optimiser's elementwise loops (optim.pxd), in C so that they can be kept scalar.
 *
 * A model writes its gradient a few doubles at a time just before the update reads it; a
 * vectorised update then loads two doubles that were stored one by one, which the CPU
 * cannot forward from its store buffer (a stall of some ten cycles, a third of a Dyson step
 * at N = 2). The arrays are small (N^2 entries at most in the usual settings), so the scalar
 * loop costs nothing. Vectorisation never changes an elementwise result: this is speed only.
 *
 * The updates are those of torch.optim (dysonlearn.optim's docstring), written with the
 * gradient g = scale * buf, buf the model's gradient buffer (scale = 1 except for the RBM,
 * whose buffer holds gradient / sigma_h^2). Every operation is a separate multiply or add:
 * the core is built without -ffp-contract=fast or -march, so nothing is fused.
 */
#ifndef DL_OPTIM_H
#define DL_OPTIM_H

#include <math.h>
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

/* Heavy ball (torch.optim.SGD, momentum = beta, dampening 0): v <- beta v + g, then
 * W <- W - lr v, or with Nesterov W <- W - lr (g + beta v). v: n doubles. */
static inline void dl_momentum_update(double *w, const double *buf, double *v, double lr,
                               double beta, double scale, int nesterov, intptr_t n)
{
    if (nesterov) {
#if defined(__clang__)
#pragma clang loop vectorize(disable)
#endif
        for (intptr_t i = 0; i < n; i++) {
            double g = scale * buf[i];
            double vi = beta * v[i] + g;
            v[i] = vi;
            w[i] -= lr * (g + beta * vi);
        }
    } else {
#if defined(__clang__)
#pragma clang loop vectorize(disable)
#endif
        for (intptr_t i = 0; i < n; i++) {
            double vi = beta * v[i] + scale * buf[i];
            v[i] = vi;
            w[i] -= lr * vi;
        }
    }
}

/* Adam's bias corrections at step t (1-based), folded into the step and epsilon:
 * with bc1 = 1 - beta1^t and bc2 = 1 - beta2^t, torch.optim.Adam's
 *     W <- W - (lr / bc1) m / (sqrt(s) / sqrt(bc2) + eps)
 * equals  W <- W - step m / (sqrt(s) + eps_hat),  step = lr sqrt(bc2) / bc1,
 * eps_hat = eps sqrt(bc2): the same update with one division per weight instead of two
 * (the division is most of Adam's cost on a small model). The roundings differ from
 * torch's by an ulp or so, as torch's own for-loop, foreach and fused implementations
 * differ from one another. */
static void dl_adam_bias(double lr, double beta1, double beta2, double eps, int64_t t,
                         double *step, double *eps_hat)
{
    double bc2_sqrt = sqrt(1.0 - pow(beta2, (double) t));
    *step = lr * bc2_sqrt / (1.0 - pow(beta1, (double) t));
    *eps_hat = eps * bc2_sqrt;
}

/* Adam (torch.optim.Adam / AdamW; step and eps_hat from dl_adam_bias): with decay != 0 first
 * W <- W (1 - lr decay) (AdamW), then m <- beta1 m + (1 - beta1) g,
 * s <- beta2 s + (1 - beta2) g^2, W <- W - step m / (sqrt(s) + eps_hat).
 * m at state[0:n], s at state[stride:stride + n] (stride = n: the whole state of n weights;
 * larger: the first n of a larger vector's state, as the symmetric 2 x 2 update uses). */
static inline void dl_adam_update(double *w, const double *buf, double *state, double lr,
                           double beta1, double beta2, double decay, double scale,
                           double step, double eps_hat, intptr_t n, intptr_t stride)
{
    double *m = state, *s = state + stride;
    double c1 = 1.0 - beta1, c2 = 1.0 - beta2;
    if (decay != 0.0) {
        double keep = 1.0 - lr * decay;
#if defined(__clang__)
#pragma clang loop vectorize(disable)
#endif
        for (intptr_t i = 0; i < n; i++) {
            w[i] *= keep;
        }
    }
#if defined(__clang__)
#pragma clang loop vectorize(disable)
#endif
    for (intptr_t i = 0; i < n; i++) {
        /* The multiply by scale = 1 is exact but lies on the step's critical path. */
        double g = scale == 1.0 ? buf[i] : scale * buf[i];
        double mi = beta1 * m[i] + c1 * g;
        double si = beta2 * s[i] + c2 * g * g;
        m[i] = mi;
        s[i] = si;
        w[i] -= step * mi / (sqrt(si) + eps_hat);
    }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

#endif
