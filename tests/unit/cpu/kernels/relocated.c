// relocated.c - An image the loader must refuse: a table of pointers needs
// R_X86_64_RELATIVE relocations at load.
typedef unsigned int uint32_t;

static float one = 1.0f, two = 2.0f;
static float *const table[2] = {&one, &two};

void pick(void *const *bindings, uint32_t tileBegin, uint32_t tileEnd, void *scratch) {
  (void)scratch;
  float *out = bindings[0];
  for (uint32_t i = tileBegin; i < tileEnd; ++i)
    out[i] = *table[i & 1];
}
