// WorkgroupReduce.glsl - Shared-memory tree reductions across one workgroup.
//
// For one-dimensional workgroups of KILN_ROW_WORKGROUP invocations (a power of
// two). Every invocation must call these in uniform control flow; each
// returns the combined value to all of them. Max propagates NaN, like the
// reference device.

shared float workgroupScratch[KILN_ROW_WORKGROUP];

float workgroupSum(float value) {
  uint lane = gl_LocalInvocationID.x;
  workgroupScratch[lane] = value;
  barrier();
  for (uint width = KILN_ROW_WORKGROUP / 2; width > 0u; width /= 2u) {
    if (lane < width)
      workgroupScratch[lane] += workgroupScratch[lane + width];
    barrier();
  }
  float total = workgroupScratch[0];
  barrier();
  return total;
}

float maxPropagatingNan(float a, float b) {
  return b > a || isnan(b) ? b : a;
}

float workgroupMax(float value) {
  uint lane = gl_LocalInvocationID.x;
  workgroupScratch[lane] = value;
  barrier();
  for (uint width = KILN_ROW_WORKGROUP / 2; width > 0u; width /= 2u) {
    if (lane < width)
      workgroupScratch[lane] =
          maxPropagatingNan(workgroupScratch[lane], workgroupScratch[lane + width]);
    barrier();
  }
  float total = workgroupScratch[0];
  barrier();
  return total;
}
