/*===- KernelAbi.h - Constants shared by the Vulkan kernels and codegen ---===//
//
// Included by the GLSL compute kernels in kernels/vulkan and by the C++ code
// generator, so an op code or a workgroup size has one definition. Only
// `#define`s of plain integers: the file must parse as both GLSL 450 and C++.
//
// Buffer convention: every storage buffer holds 32-bit elements. f32 values
// are IEEE-754 bits, i32 values are two's complement, and i1 masks are uint
// 0 or 1, so kernels declare buffers as uint[] and bit-cast where needed.
//
//===----------------------------------------------------------------------===*/

#ifndef KILN_KERNELS_VULKAN_KERNELABI_H
#define KILN_KERNELS_VULKAN_KERNELABI_H

/* The largest tensor rank the strided kernels (gather, reduce) accept. */
#define KILN_MAX_RANK 6

/* Workgroup sizes (x only; every kernel but matmul is one-dimensional). */
#define KILN_ELEMENTWISE_WORKGROUP 256
#define KILN_REDUCE_WORKGROUP 128
#define KILN_ROW_WORKGROUP 128
#define KILN_MATMUL_TILE 16

/* The most workgroups a grid-stride kernel is dispatched with along x; every
   Vulkan implementation supports at least 65535. */
#define KILN_MAX_WORKGROUPS 4096

/* Unary op codes (elementwise.comp, ARITY 1). */
#define KILN_UNARY_NEG 0
#define KILN_UNARY_EXP 1
#define KILN_UNARY_LOG 2
#define KILN_UNARY_SQRT 3
#define KILN_UNARY_RELU 4
#define KILN_UNARY_TANH 5
#define KILN_UNARY_SIGMOID 6

/* Binary op codes (elementwise.comp, ARITY 2). Comparisons write masks. */
#define KILN_BINARY_ADD 0
#define KILN_BINARY_SUB 1
#define KILN_BINARY_MUL 2
#define KILN_BINARY_DIV 3
#define KILN_BINARY_MAX 4
#define KILN_COMPARE_EQ 10
#define KILN_COMPARE_NE 11
#define KILN_COMPARE_LT 12
#define KILN_COMPARE_LE 13
#define KILN_COMPARE_GT 14
#define KILN_COMPARE_GE 15

/* Reduction op codes (reduce.comp). */
#define KILN_REDUCE_SUM 0
#define KILN_REDUCE_MEAN 1
#define KILN_REDUCE_MAX 2

#endif /* KILN_KERNELS_VULKAN_KERNELABI_H */
