/* simd.h -- compile a hot kernel for several x86-64 levels.
 *
 * H5B_CLONES before a function definition makes GCC build it for
 * AVX-512F, AVX2 and the x86-64 baseline (SSE2), and the dynamic loader
 * pick one for the CPU (an ifunc).  Use it only on kernels whose results
 * cannot depend on the register width: element-wise arithmetic, integer
 * work, and floating-point reductions whose lanes are spelled out in the
 * source (a GCC vector type) and combined in a fixed order.  -std=c11
 * keeps a multiply and an add two roundings (no FMA contraction), so every
 * clone computes the same bits.  Other compilers (clang builds the fuzz
 * targets) get the baseline only.
 */
#ifndef H5B_SIMD_H
#define H5B_SIMD_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__linux__)
#define H5B_CLONES \
    __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define H5B_CLONES
#endif

/* H5B_VECTORISE: GCC at -O2 vectorises only loops that need no run-time
 * checks (of aliasing, of a trip count known at run time); this lets it
 * vectorise such loops in one function, with the cost model deciding.
 * It changes no floating-point rule: GCC never reorders a sum without
 * -ffast-math, and -std=c11 still forbids contracting to FMA (objdump
 * shows none).  Other compilers get nothing. */
#if defined(__GNUC__) && !defined(__clang__)
#define H5B_VECTORISE \
    __attribute__((optimize("tree-loop-vectorize", "vect-cost-model=dynamic")))
#else
#define H5B_VECTORISE
#endif

#endif
