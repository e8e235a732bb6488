// kernels.c - Test kernels following the CPU kernel ABI (docs/design/cpu-runtime.md):
//   void k(void *const *bindings, uint32_t tile_begin, uint32_t tile_end, void *scratch)
// bindings 0..R-1 are outputs. Compiled at test-build time with -ffreestanding -nostdlib into
// one shared image; the sizes are baked in (-DKILN_TEST_N, -DKILN_TEST_ROWS, -DKILN_TEST_COLS)
// because the ABI has no push constants.
typedef unsigned int uint32_t;
typedef unsigned long uintptr_t;

#define TILE 64 /* elements per tile of add and half: N = 1000 gives 16 tiles, the last short */

static uint32_t tileEnd(uint32_t tile) {
  uint32_t end = (tile + 1) * TILE;
  return end < KILN_TEST_N ? end : KILN_TEST_N;
}

// out = x + y over f32[N].
void add(void *const *bindings, uint32_t tileBegin, uint32_t tileEnd_, void *scratch) {
  (void)scratch;
  float *out = bindings[0];
  const float *x = bindings[1], *y = bindings[2];
  for (uint32_t tile = tileBegin; tile < tileEnd_; ++tile)
    for (uint32_t i = tile * TILE; i < tileEnd(tile); ++i)
      out[i] = x[i] + y[i];
}

// out = 0.5 * x over f32[N].
void half(void *const *bindings, uint32_t tileBegin, uint32_t tileEnd_, void *scratch) {
  (void)scratch;
  float *out = bindings[0];
  const float *x = bindings[1];
  for (uint32_t tile = tileBegin; tile < tileEnd_; ++tile)
    for (uint32_t i = tile * TILE; i < tileEnd(tile); ++i)
      out[i] = 0.5f * x[i];
}

// out[r] = sum_c m[r, c] * v[c] over f32[ROWS, COLS] and f32[COLS], one row per tile, summed
// in scratch (64-byte aligned) in c order: each tile's result is the same on any thread.
void rowdot(void *const *bindings, uint32_t tileBegin, uint32_t tileEnd_, void *scratch) {
  float *out = bindings[0];
  const float *m = bindings[1], *v = bindings[2];
  volatile float *partial = scratch;
  if ((uintptr_t)scratch % 64 != 0) {
    for (uint32_t row = tileBegin; row < tileEnd_; ++row)
      out[row] = -1.0f; // a misaligned scratch is visible in the result
    return;
  }
  for (uint32_t row = tileBegin; row < tileEnd_; ++row) {
    partial[0] = 0.0f;
    for (uint32_t c = 0; c < KILN_TEST_COLS; ++c)
      partial[0] = partial[0] + m[row * KILN_TEST_COLS + c] * v[c];
    out[row] = partial[0];
  }
}
