// RUN: kiln-opt %s --split-input-file --kiln-exec-place-barriers | FileCheck %s

// kiln-exec-place-barriers: the one place barriers are decided, from each
// kernel's declared accesses and each buffer's bytes.

// A chain: read-after-write needs a barrier; two reads of one buffer do not;
// write-after-read does. Existing barriers are replaced, not kept.

// CHECK-LABEL: exec.plan @chain
// CHECK:         exec.program @train
// CHECK-NEXT:      exec.dispatch @add(write %t1, read %a, read %b)
// CHECK-NEXT:      exec.dispatch @add(write %t2, read %a, read %b)
// CHECK-NEXT:      exec.barrier
// CHECK-NEXT:      exec.dispatch @add(write %y, read %t1, read %t2)
// CHECK-NEXT:      exec.output "y"
// CHECK-NEXT:      exec.barrier
// CHECK-NEXT:      exec.dispatch @add(write %t1, read %a, read %b)
// CHECK-NEXT:      exec.barrier
// CHECK-NEXT:      exec.copy %t1 to %v size 16
// CHECK-NEXT:    }
exec.plan @chain attributes {targets = ["vulkan"], compiler = "k"} {
  %a = exec.buffer "a" input size 16
  %b = exec.buffer "b" input size 16
  %v = exec.buffer "v" variable size 16
  %t1 = exec.buffer "t1" transient size 16
  %t2 = exec.buffer "t2" transient size 16
  %y = exec.buffer "y" output size 16
  exec.kernel @add kind "pointwise" bindings(write, read, read) workgroup [64, 1, 1]
  exec.program @train inputs [] {
    exec.barrier
    exec.dispatch @add(write %t1, read %a, read %b) groups [1, 1, 1]
    exec.barrier
    exec.dispatch @add(write %t2, read %a, read %b) groups [1, 1, 1]
    exec.dispatch @add(write %y, read %t1, read %t2) groups [1, 1, 1]
    exec.output "y" %y : tensor<4xf32>
    exec.dispatch @add(write %t1, read %a, read %b) groups [1, 1, 1]
    exec.copy %t1 to %v size 16
  }
}

// -----

// In the arena, different buffers that share bytes are ordered like one: %u
// overlaps %t's bytes, so writing it waits for the read of %t; %w lies beside
// them and needs nothing. Each program starts with nothing outstanding.

// CHECK-LABEL: exec.plan @arena
// CHECK:         exec.program @train
// CHECK-NEXT:      exec.dispatch @add(write %t, read %a, read %a)
// CHECK-NEXT:      exec.barrier
// CHECK-NEXT:      exec.dispatch @add(write %y, read %t, read %a)
// CHECK-NEXT:      exec.output
// CHECK-NEXT:      exec.dispatch @add(write %w, read %a, read %a)
// CHECK-NEXT:      exec.barrier
// CHECK-NEXT:      exec.dispatch @add(write %u, read %a, read %a)
// CHECK-NEXT:    }
// CHECK-NEXT:    exec.program @eval
// CHECK-NEXT:      exec.dispatch @add(write %t, read %a, read %a)
// CHECK-NEXT:    }
exec.plan @arena attributes {targets = ["vulkan"], compiler = "k", arena_bytes = 1024, alignment = 256} {
  %a = exec.buffer "a" input size 16
  %t = exec.buffer "t" transient size 512 offset 0
  %u = exec.buffer "u" transient size 16 offset 256
  %w = exec.buffer "w" transient size 16 offset 768
  %y = exec.buffer "y" output size 512
  exec.kernel @add kind "pointwise" bindings(write, read, read) workgroup [64, 1, 1]
  exec.program @train inputs [] {
    exec.dispatch @add(write %t, read %a, read %a) groups [1, 1, 1]
    exec.dispatch @add(write %y, read %t, read %a) groups [1, 1, 1]
    exec.output "y" %y : tensor<128xf32>
    exec.dispatch @add(write %w, read %a, read %a) groups [1, 1, 1]
    exec.dispatch @add(write %u, read %a, read %a) groups [1, 1, 1]
  }
  exec.program @eval inputs [] {
    exec.dispatch @add(write %t, read %a, read %a) groups [1, 1, 1]
  }
}

// -----

// A kernel's declaration is what counts: a binding it only reads is read even
// when another binding of the same dispatch names the same buffer to write.

// CHECK-LABEL: exec.plan @in_place
// CHECK:         exec.program @train
// CHECK-NEXT:      exec.dispatch @update(write %v, read %v, read %g)
// CHECK-NEXT:      exec.barrier
// CHECK-NEXT:      exec.dispatch @update(write %v, read %v, read %g)
exec.plan @in_place attributes {targets = ["vulkan"], compiler = "k"} {
  %v = exec.buffer "v" variable size 16
  %g = exec.buffer "g" input size 16
  exec.kernel @update kind "pointwise" bindings(write, read, read) workgroup [64, 1, 1] {in_place = array<i32: 0, 1>}
  exec.program @train inputs [] {
    exec.dispatch @update(write %v, read %v, read %g) groups [1, 1, 1]
    exec.dispatch @update(write %v, read %v, read %g) groups [1, 1, 1]
  }
}
