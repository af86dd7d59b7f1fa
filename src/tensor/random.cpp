// random.cpp — the default generator and the random creation functions.
// The numbers themselves come from the backend's Philox kernel (philox.h).
#include "tensor/backend.h"
#include "tensor/tensor.h"

namespace dl {

Generator& default_generator() {
  static Generator generator(0);
  return generator;
}

void manual_seed(uint64_t seed) { default_generator() = Generator(seed); }

namespace {
Tensor draw(const char* op, const Shape& shape, DType dtype, Generator* generator, bool normal, Device device) {
  check(is_floating(dtype), op, ": expected a floating dtype, got ", dtype);
  Generator& gen = generator ? *generator : default_generator();
  Tensor out = Tensor::empty(shape, dtype, device);
  backend(out.device()).random(out, normal, gen.seed, gen.offset);
  ++gen.offset;  // every draw uses fresh counters
  return out;
}
}  // namespace

Tensor rand(const Shape& shape, DType dtype, Generator* generator, Device device) {
  return draw("rand", shape, dtype, generator, false, device);
}
Tensor randn(const Shape& shape, DType dtype, Generator* generator, Device device) {
  return draw("randn", shape, dtype, generator, true, device);
}

Tensor uniform(const Shape& shape, double low, double high, DType dtype, Generator* generator, Device device) {
  check(low < high, "uniform: expected low < high, got [", low, ", ", high, ")");
  Tensor out = draw("uniform", shape, dtype, generator, false, device);
  // out = low + (high - low) * u, in place: the draw is ours alone.
  Tensor scaled = out;
  scaled.mul_(high - low);
  return scaled.add_(full({}, low, dtype, device));
}

}  // namespace dl
