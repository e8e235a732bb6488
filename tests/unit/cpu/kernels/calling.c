// calling.c - An image the loader must refuse: it calls a function the image
// does not define (expf), which needs a PLT relocation and a library.
typedef unsigned int uint32_t;

float expf(float);

void exponent(void *const *bindings, uint32_t tileBegin, uint32_t tileEnd, void *scratch) {
  (void)scratch;
  float *out = bindings[0];
  const float *x = bindings[1];
  for (uint32_t i = tileBegin; i < tileEnd; ++i)
    out[i] = expf(x[i]);
}
