/* Skinny products for the RBM's "gibbs-eigen" sweeps: C (B x N) = alpha A (B x K) op(S)
 * + beta C, column-major, with B the chains (a multiple of 8) and N, K the units.
 *
 * Why by hand: BLAS packs the whole N x K operand S into panels on every call, which pays
 * off when many rows reuse them; here only B = 16 rows do, and OpenBLAS runs these products
 * at 30-40 Gflop/s against the 47-49 of a large square one (docs/guide/performance.rst).
 * These kernels read S where it lies, once per product: each block keeps NC columns of C by
 * 8 BC rows in registers, and for every k loads 8 BC rows of column k of A and broadcasts
 * NC entries of S (hidden, S K x N: column j of S is contiguous; visible, S^T with S N x K:
 * the NC entries S[j .. j + NC - 1, k] are contiguous).
 *
 * The arithmetic is fixed: each entry of C is one sequential chain of fused multiply-adds
 * over k = 0 .. K - 1 from 0, then alpha acc + beta C rounded as two products and a sum
 * (compiled without contraction into fused operations), so the AVX-512 and the AVX2 code
 * give the same bits. Not those of BLAS, which accumulates in its own order.
 *
 * Compiled only with GCC on x86-64 (function multiversioning by target attributes, the CPU
 * chosen at run time by __builtin_cpu_supports); elsewhere dl_skinny_isa() is 0 and the
 * callers use BLAS. */
#ifndef DL_SKINNY_H
#define DL_SKINNY_H

#include <stddef.h>

#define DL_SKINNY_NONE 0
#define DL_SKINNY_AVX2 1
#define DL_SKINNY_AVX512 2

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)

#include <immintrin.h>

/* One block: NC columns of C by 8 BC rows. S's entry for (k, column c of the block) is
 * S[k sk + c sc]; 8 / W vectors of W doubles make up 8 rows. The fused multiply-adds are
 * the explicit FMA; everything else is compiled with fp-contract=off (below), so that
 * alpha acc + beta C is two products and a sum, rounded alike by every instruction set. */
#define DL_SKINNY_BLOCK(ISA, VEC, W, LOAD, STORE, SET1, FMA, MUL, ADD, ZERO, NC, BC)       \
static inline __attribute__((always_inline)) void dl_skinny_##ISA##_##NC##x##BC(           \
    int K, double alpha, const double *A, int lda, const double *S, ptrdiff_t sk,          \
    ptrdiff_t sc, double beta, double *C, int ldc)                                         \
{                                                                                          \
    enum { V = BC * (8 / W) };                                                             \
    VEC acc[NC][V], av[V], va = SET1(alpha), vb = SET1(beta);                              \
    int c, b, k;                                                                           \
    for (c = 0; c < NC; c++)                                                               \
        for (b = 0; b < V; b++) acc[c][b] = ZERO();                                        \
    for (k = 0; k < K; k++) {                                                              \
        const double *a = A + (ptrdiff_t)k * lda, *s = S + (ptrdiff_t)k * sk;              \
        for (b = 0; b < V; b++) av[b] = LOAD(a + W * b);                                   \
        for (c = 0; c < NC; c++) {                                                         \
            VEC sv = SET1(s[c * sc]);                                                      \
            for (b = 0; b < V; b++) acc[c][b] = FMA(av[b], sv, acc[c][b]);                 \
        }                                                                                  \
    }                                                                                      \
    for (c = 0; c < NC; c++) {                                                             \
        double *out = C + (ptrdiff_t)c * ldc;                                              \
        for (b = 0; b < V; b++) {                                                          \
            VEC r = MUL(va, acc[c][b]);                                                    \
            if (beta != 0.0) r = ADD(r, MUL(vb, LOAD(out + W * b)));                       \
            STORE(out + W * b, r);                                                         \
        }                                                                                  \
    }                                                                                      \
}

/* The product: blocks of NC columns (outer) by 8 BC rows (inner), so that a block's NC
 * columns of S are read from memory once and from cache B / (8 BC) - 1 more times; the
 * rows left over in chunks of 8, the columns one at a time. B is a multiple of 8. */
#define DL_SKINNY_DRIVER(NAME, ISA, NC, BC)                                                \
static void NAME(int B, int N, int K, double alpha, const double *A, const double *S,      \
                 ptrdiff_t sk, ptrdiff_t sc, double beta, double *C)                       \
{                                                                                          \
    int j = 0, b;                                                                          \
    for (; j + NC <= N; j += NC) {                                                         \
        for (b = 0; b + 8 * BC <= B; b += 8 * BC)                                          \
            dl_skinny_##ISA##_##NC##x##BC(K, alpha, A + b, B, S + j * sc, sk, sc, beta,    \
                                          C + b + (ptrdiff_t)j * B, B);                    \
        for (; b < B; b += 8)                                                              \
            dl_skinny_##ISA##_##NC##x1(K, alpha, A + b, B, S + j * sc, sk, sc, beta,       \
                                       C + b + (ptrdiff_t)j * B, B);                       \
    }                                                                                      \
    for (; j < N; j++) {                                                                   \
        for (b = 0; b + 8 * BC <= B; b += 8 * BC)                                          \
            dl_skinny_##ISA##_1x##BC(K, alpha, A + b, B, S + j * sc, sk, sc, beta,         \
                                     C + b + (ptrdiff_t)j * B, B);                         \
        for (; b < B; b += 8)                                                              \
            dl_skinny_##ISA##_1x1(K, alpha, A + b, B, S + j * sc, sk, sc, beta,            \
                                  C + b + (ptrdiff_t)j * B, B);                            \
    }                                                                                      \
}

/* The SGD step of "gibbs-eigen" in one pass over W: with P = Phi W^T (B x M, by the
 * products above) and Phi^T at hand as phit (N x B),
 *     g_ij = (-lam_i) W_ij + inv_b acc_ij,   acc_ij = sum_b phit_ib P_bj,
 *     W_ij <- W_ij - rate g_ij,
 * W (N x M) column-major: the gradient -W Lambda + (1/B) (W Phi^T) Phi of the eigenbasis
 * and its update, which BLAS and the optimiser would do in three passes over W's size (the
 * gradient's first term, the rank-B product into it, the update). acc is one chain of fused
 * multiply-adds over b from 0; the rest separate products and sums. Blocks of NC columns by
 * 2 W-vectors of rows, the rows left over one at a time (scalar fused multiply-adds: the
 * same roundings). */
#define DL_SKINNY_SGD(ISA, VEC, W, LOAD, STORE, SET1, FMA, MUL, ADD, SUB, ZERO, NC)           \
static double dl_skinny_sgd_##ISA(int B, int N, int M, const double *phit, const double *P,  \
                                  const double *lam, double inv_b, double rate, double *Wt)  \
{                                                                                          \
    VEC vi = SET1(inv_b), vr = SET1(rate), sq = ZERO();                                    \
    double squares = 0.0, lanes[W];                                                        \
    int j = 0, i, b, c, jn;                                                                \
    for (; j < M; j += NC) {                                                               \
        jn = M - j < NC ? M - j : NC;                                                      \
        for (i = 0; i + 2 * W <= N; i += 2 * W) {                                          \
            VEC acc[NC][2], nl0, nl1;                                                      \
            for (c = 0; c < NC; c++) acc[c][0] = acc[c][1] = ZERO();                       \
            for (b = 0; b < B; b++) {                                                      \
                VEC x0 = LOAD(phit + i + (ptrdiff_t)b * N);                                \
                VEC x1 = LOAD(phit + i + W + (ptrdiff_t)b * N);                            \
                for (c = 0; c < NC; c++) {                                                 \
                    if (c < jn) {                                                          \
                        VEC sv = SET1(P[b + (ptrdiff_t)(j + c) * B]);                      \
                        acc[c][0] = FMA(x0, sv, acc[c][0]);                                \
                        acc[c][1] = FMA(x1, sv, acc[c][1]);                                \
                    }                                                                      \
                }                                                                          \
            }                                                                              \
            nl0 = SUB(ZERO(), LOAD(lam + i));                                              \
            nl1 = SUB(ZERO(), LOAD(lam + i + W));                                          \
            for (c = 0; c < jn; c++) {                                                     \
                double *w = Wt + i + (ptrdiff_t)(j + c) * N;                               \
                VEC w0 = LOAD(w), w1 = LOAD(w + W);                                        \
                VEC g0 = ADD(MUL(nl0, w0), MUL(vi, acc[c][0]));                            \
                VEC g1 = ADD(MUL(nl1, w1), MUL(vi, acc[c][1]));                            \
                w0 = SUB(w0, MUL(vr, g0));                                                 \
                w1 = SUB(w1, MUL(vr, g1));                                                 \
                STORE(w, w0);                                                              \
                STORE(w + W, w1);                                                          \
                sq = FMA(w0, w0, FMA(w1, w1, sq));                                         \
            }                                                                              \
        }                                                                                  \
        for (; i < N; i++) {                                                               \
            for (c = 0; c < jn; c++) {                                                     \
                double a = 0.0, g, *w = Wt + i + (ptrdiff_t)(j + c) * N;                   \
                for (b = 0; b < B; b++)                                                    \
                    a = __builtin_fma(phit[i + (ptrdiff_t)b * N], P[b + (ptrdiff_t)(j + c) * B], a); \
                g = (-lam[i]) * w[0] + inv_b * a;                                          \
                w[0] = w[0] - rate * g;                                                    \
                squares += w[0] * w[0];                                                    \
            }                                                                              \
        }                                                                                  \
    }                                                                                      \
    STORE(lanes, sq);                                                                      \
    for (i = 0; i < W; i++) squares += lanes[i];                                           \
    return squares;                                                                        \
}

/* AVX-512: 8 x 16 blocks (16 accumulators and 2 loaded vectors of the 32 registers); from
 * B = 32 on, fewer passes over S: 6 x 32 (hidden) and 8 x 24 (visible, whose S is read with
 * a stride of N), 24 accumulators each. Every shape gives the same bits (each entry's sum is
 * the same chain whatever block it is in). */
#pragma GCC push_options
#pragma GCC target("avx512f")
#pragma GCC optimize("fp-contract=off")
#define DL_SKINNY_512(NC, BC)                                                              \
    DL_SKINNY_BLOCK(avx512, __m512d, 8, _mm512_loadu_pd, _mm512_storeu_pd, _mm512_set1_pd,  \
                    _mm512_fmadd_pd, _mm512_mul_pd, _mm512_add_pd, _mm512_setzero_pd, NC, BC)
DL_SKINNY_512(8, 2)
DL_SKINNY_512(8, 3)
DL_SKINNY_512(8, 1)
DL_SKINNY_512(6, 4)
DL_SKINNY_512(6, 1)
DL_SKINNY_512(1, 4)
DL_SKINNY_512(1, 3)
DL_SKINNY_512(1, 2)
DL_SKINNY_512(1, 1)
DL_SKINNY_DRIVER(dl_skinny_avx512, avx512, 8, 2)
DL_SKINNY_DRIVER(dl_skinny_avx512_wide_nn, avx512, 6, 4)
DL_SKINNY_DRIVER(dl_skinny_avx512_wide_nt, avx512, 8, 3)
DL_SKINNY_SGD(avx512, __m512d, 8, _mm512_loadu_pd, _mm512_storeu_pd, _mm512_set1_pd,
              _mm512_fmadd_pd, _mm512_mul_pd, _mm512_add_pd, _mm512_sub_pd,
              _mm512_setzero_pd, 4)
#pragma GCC pop_options

/* AVX2: 6 x 8 blocks, 12 accumulators and 2 loaded vectors of the 16 registers. */
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#pragma GCC optimize("fp-contract=off")
#define DL_SKINNY_256(NC, BC)                                                              \
    DL_SKINNY_BLOCK(avx2, __m256d, 4, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_set1_pd,    \
                    _mm256_fmadd_pd, _mm256_mul_pd, _mm256_add_pd, _mm256_setzero_pd, NC, BC)
DL_SKINNY_256(6, 1)
DL_SKINNY_256(1, 1)
DL_SKINNY_DRIVER(dl_skinny_avx2, avx2, 6, 1)
DL_SKINNY_SGD(avx2, __m256d, 4, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_set1_pd,
              _mm256_fmadd_pd, _mm256_mul_pd, _mm256_add_pd, _mm256_sub_pd,
              _mm256_setzero_pd, 4)
#pragma GCC pop_options

/* The instruction set this CPU gives the products: DL_SKINNY_AVX512, DL_SKINNY_AVX2 (with
 * FMA) or DL_SKINNY_NONE. */
static int dl_skinny_isa(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return DL_SKINNY_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return DL_SKINNY_AVX2;
    return DL_SKINNY_NONE;
}

static void dl_skinny(int isa, int B, int N, int K, double alpha, const double *A,
                      const double *S, ptrdiff_t sk, ptrdiff_t sc, double beta, double *C)
{
    if (isa == DL_SKINNY_AVX512 && B >= 32 && sk == 1)
        dl_skinny_avx512_wide_nn(B, N, K, alpha, A, S, sk, sc, beta, C);
    else if (isa == DL_SKINNY_AVX512 && B >= 32)
        dl_skinny_avx512_wide_nt(B, N, K, alpha, A, S, sk, sc, beta, C);
    else if (isa == DL_SKINNY_AVX512)
        dl_skinny_avx512(B, N, K, alpha, A, S, sk, sc, beta, C);
    else if (isa == DL_SKINNY_AVX2)
        dl_skinny_avx2(B, N, K, alpha, A, S, sk, sc, beta, C);
}

/* Returns the sum of the squares of the new W (in no fixed order: for the divergence
 * check's trace bound, whose margin dwarfs any rounding); not finite when W is not. */
static double dl_skinny_eigen_sgd(int isa, int B, int N, int M, const double *phit,
                                  const double *P, const double *lam, double inv_b,
                                  double rate, double *Wt)
{
    if (isa == DL_SKINNY_AVX512)
        return dl_skinny_sgd_avx512(B, N, M, phit, P, lam, inv_b, rate, Wt);
    if (isa == DL_SKINNY_AVX2)
        return dl_skinny_sgd_avx2(B, N, M, phit, P, lam, inv_b, rate, Wt);
    return 0.0;
}

#else  /* another compiler or processor: no products here, the callers use BLAS */

static int dl_skinny_isa(void) { return DL_SKINNY_NONE; }

static void dl_skinny(int isa, int B, int N, int K, double alpha, const double *A,
                      const double *S, ptrdiff_t sk, ptrdiff_t sc, double beta, double *C)
{
    (void)isa; (void)B; (void)N; (void)K; (void)alpha; (void)A; (void)S; (void)sk;
    (void)sc; (void)beta; (void)C;
}

static double dl_skinny_eigen_sgd(int isa, int B, int N, int M, const double *phit,
                                  const double *P, const double *lam, double inv_b,
                                  double rate, double *Wt)
{
    (void)isa; (void)B; (void)N; (void)M; (void)phit; (void)P; (void)lam; (void)inv_b;
    (void)rate; (void)Wt;
    return 0.0;
}

#endif

/* C (B x N) = alpha A (B x K) S + beta C: S K x N column-major, leading dimension lds;
 * A and C with leading dimension B; B a multiple of 8; isa from dl_skinny_isa(), not NONE. */
static inline void dl_skinny_nn(int isa, int B, int N, int K, double alpha, const double *A,
                                const double *S, int lds, double beta, double *C)
{
    dl_skinny(isa, B, N, K, alpha, A, S, 1, lds, beta, C);
}

/* C (B x N) = alpha A (B x K) S^T + beta C: S N x K column-major, leading dimension lds. */
static inline void dl_skinny_nt(int isa, int B, int N, int K, double alpha, const double *A,
                                const double *S, int lds, double beta, double *C)
{
    dl_skinny(isa, B, N, K, alpha, A, S, lds, 1, beta, C);
}

#endif
