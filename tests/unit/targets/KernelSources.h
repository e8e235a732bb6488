//===- KernelSources.h - Hand-written kernels in the emitter ABI -*- C++ -*-===//
//
// gpu.module kernels as the kernel emitter produces them, shared by the lowering tests
// and the tests that run the generated SPIR-V.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TESTS_UNIT_TARGETS_KERNELSOURCES_H
#define KILN_TESTS_UNIT_TARGETS_KERNELSOURCES_H

namespace kiln::targets::sources {

/// out[i] = exp(a[i]) / sqrt(b[i]) + log(b[i]) + tanh(a[i]) over a grid-stride loop.
inline constexpr const char *kElementwise = R"mlir(
gpu.module @elementwise {
  gpu.func @ew_math(%a: memref<1000xf32>, %b: memref<1000xf32>, %out: memref<1000xf32>)
      kernel attributes {spirv.entry_point_abi = #spirv.entry_point_abi<workgroup_size = [64, 1, 1]>,
                         known_block_size = array<i32: 64, 1, 1>} {
    %tid = gpu.thread_id x
    %bid = gpu.block_id x
    %bdim = gpu.block_dim x
    %gdim = gpu.grid_dim x
    %base = arith.muli %bid, %bdim : index
    %start = arith.addi %base, %tid : index
    %stride = arith.muli %bdim, %gdim : index
    %n = arith.constant 1000 : index
    scf.for %i = %start to %n step %stride {
      %x = memref.load %a[%i] : memref<1000xf32>
      %y = memref.load %b[%i] : memref<1000xf32>
      %e = math.exp %x : f32
      %l = math.log %y : f32
      %t = math.tanh %x : f32
      %s = math.sqrt %y : f32
      %d = arith.divf %e, %s : f32
      %r1 = arith.addf %d, %l : f32
      %r2 = arith.addf %r1, %t : f32
      memref.store %r2, %out[%i] : memref<1000xf32>
    }
    gpu.return
  }
}
)mlir";

/// out[i] = (labels[i] > 3 ? max(float(labels[i]), x[i]) : x[i]) + float(i % 7), i < 256.
inline constexpr const char *kSelectI32 = R"mlir(
gpu.module @select {
  gpu.func @select_i32(%labels: memref<256xi32>, %x: memref<256xf32>, %out: memref<256xf32>)
      kernel attributes {spirv.entry_point_abi = #spirv.entry_point_abi<workgroup_size = [128, 1, 1]>,
                         known_block_size = array<i32: 128, 1, 1>} {
    %tid = gpu.thread_id x
    %bid = gpu.block_id x
    %bdim = gpu.block_dim x
    %base = arith.muli %bid, %bdim : index
    %i = arith.addi %base, %tid : index
    %n = arith.constant 256 : index
    %inside = arith.cmpi ult, %i, %n : index
    scf.if %inside {
      %label = memref.load %labels[%i] : memref<256xi32>
      %three = arith.constant 3 : i32
      %big = arith.cmpi sgt, %label, %three : i32
      %labelf = arith.sitofp %label : i32 to f32
      %xv = memref.load %x[%i] : memref<256xf32>
      %m = arith.maximumf %labelf, %xv : f32
      %picked = arith.select %big, %m, %xv : f32
      %seven = arith.constant 7 : index
      %rem = arith.remui %i, %seven : index
      %remi = arith.index_cast %rem : index to i32
      %remf = arith.sitofp %remi : i32 to f32
      %sum = arith.addf %picked, %remf : f32
      memref.store %sum, %out[%i] : memref<256xf32>
    }
    gpu.return
  }
}
)mlir";

/// out[b] = sum of in[256 b .. 256 b + 255]: a workgroup-memory tree with barriers.
inline constexpr const char *kReduction = R"mlir(
gpu.module @reduce {
  gpu.func @block_sum(%in: memref<1024xf32>, %out: memref<4xf32>)
      workgroup(%tile: memref<256xf32, #gpu.address_space<workgroup>>)
      kernel attributes {spirv.entry_point_abi = #spirv.entry_point_abi<workgroup_size = [256, 1, 1]>,
                         known_block_size = array<i32: 256, 1, 1>} {
    %tid = gpu.thread_id x
    %bid = gpu.block_id x
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c8 = arith.constant 8 : index
    %c128 = arith.constant 128 : index
    %c256 = arith.constant 256 : index
    %base = arith.muli %bid, %c256 : index
    %i = arith.addi %base, %tid : index
    %v = memref.load %in[%i] : memref<1024xf32>
    memref.store %v, %tile[%tid] : memref<256xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    scf.for %k = %c0 to %c8 step %c1 {
      %s = arith.shrui %c128, %k : index
      %active = arith.cmpi ult, %tid, %s : index
      scf.if %active {
        %j = arith.addi %tid, %s : index
        %a = memref.load %tile[%tid] : memref<256xf32, #gpu.address_space<workgroup>>
        %b = memref.load %tile[%j] : memref<256xf32, #gpu.address_space<workgroup>>
        %sum = arith.addf %a, %b : f32
        memref.store %sum, %tile[%tid] : memref<256xf32, #gpu.address_space<workgroup>>
      }
      gpu.barrier
    }
    %first = arith.cmpi eq, %tid, %c0 : index
    scf.if %first {
      %total = memref.load %tile[%c0] : memref<256xf32, #gpu.address_space<workgroup>>
      memref.store %total, %out[%bid] : memref<4xf32>
    }
    gpu.return
  }
}
)mlir";

/// 64x64 transpose with 16x16 workgroups (thread_id y, block_id y).
inline constexpr const char *kTranspose2d = R"mlir(
gpu.module @transpose {
  gpu.func @transpose_64(%in: memref<4096xf32>, %out: memref<4096xf32>)
      kernel attributes {spirv.entry_point_abi = #spirv.entry_point_abi<workgroup_size = [16, 16, 1]>,
                         known_block_size = array<i32: 16, 16, 1>} {
    %tx = gpu.thread_id x
    %ty = gpu.thread_id y
    %bx = gpu.block_id x
    %by = gpu.block_id y
    %c16 = arith.constant 16 : index
    %c64 = arith.constant 64 : index
    %col0 = arith.muli %bx, %c16 : index
    %col = arith.addi %col0, %tx : index
    %row0 = arith.muli %by, %c16 : index
    %row = arith.addi %row0, %ty : index
    %src0 = arith.muli %row, %c64 : index
    %src = arith.addi %src0, %col : index
    %dst0 = arith.muli %col, %c64 : index
    %dst = arith.addi %dst0, %row : index
    %v = memref.load %in[%src] : memref<4096xf32>
    memref.store %v, %out[%dst] : memref<4096xf32>
    gpu.return
  }
}
)mlir";

} // namespace kiln::targets::sources

#endif // KILN_TESTS_UNIT_TARGETS_KERNELSOURCES_H
