// bench_cpu.cpp — how fast the CPU backend runs the InfoGAN (make bench).
//
// Prints, in one run on one machine: the peak FMA rate measured by a
// register-only loop (1 thread and N threads), the GEMM on square sizes and
// on the shapes the InfoGAN's convolutions turn into, the forward and
// backward of every layer of the generator and discriminator, and the full
// training step of the lab spec. Times are medians over --reps runs after
// one warm-up run; on a shared machine they are noisy, so compare medians
// from the same run.
//
//   bench_cpu [--threads N] [--batch B] [--reps R] [--only peak|gemm|layers|step]
//
// The step also reports the process CPU time per iteration (all threads):
// on a loaded machine it moves much less than the wall time.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "common/infogan.h"
#include "common/spec_networks.h"
#include "dl.h"
#include "tensor/cpu/gemm.h"
#include "tensor/cpu/thread_pool.h"

using namespace dl;

namespace {

struct Options {
  int threads = num_threads();
  int64_t batch = 64;
  int reps = 5;
  std::string only;  // one section, or every section when empty
  bool runs(const char* section) const { return only.empty() || only == section; }
};

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    check(i + 1 < argc, "bench_cpu: ", flag, " needs a value");
    if (flag == "--only") {
      options.only = argv[++i];
      check(options.only == "peak" || options.only == "gemm" || options.only == "layers" || options.only == "step",
            "bench_cpu: --only expects peak, gemm, layers or step, got ", options.only);
      continue;
    }
    const long value = std::strtol(argv[++i], nullptr, 10);
    check(value >= 1, "bench_cpu: ", flag, " must be a positive integer, got ", argv[i]);
    if (flag == "--threads") options.threads = static_cast<int>(value);
    else if (flag == "--batch") options.batch = value;
    else if (flag == "--reps") options.reps = static_cast<int>(value);
    else fail("bench_cpu: unknown flag ", flag, " (expected --threads N, --batch B, --reps R, --only SECTION)");
  }
  return options;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// User + system CPU seconds of the whole process so far (every thread).
double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) { return double(t.tv_sec) + 1e-6 * double(t.tv_usec); };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Median seconds of `reps` timed runs of fn after one untimed warm-up;
// `setup` runs untimed before each.
double median_seconds(int reps, const std::function<void()>& fn, const std::function<void()>& setup = [] {}) {
  setup();
  fn();
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    setup();
    const auto start = std::chrono::steady_clock::now();
    fn();
    times.push_back(seconds_since(start));
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// ---- peak ----------------------------------------------------------------------

bool has_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

#if defined(__x86_64__) || defined(__i386__)
// 12 independent FMA chains of 8 floats: enough to cover the FMA latency on
// both FMA ports, and nothing but registers. 192 flops per iteration.
__attribute__((target("avx2,fma"))) float fma_loop(int64_t iterations) {
  const __m256 x = _mm256_set1_ps(0.9999f), y = _mm256_set1_ps(1e-4f);
  __m256 a0 = _mm256_set1_ps(0.f), a1 = _mm256_set1_ps(.1f), a2 = _mm256_set1_ps(.2f), a3 = _mm256_set1_ps(.3f);
  __m256 a4 = _mm256_set1_ps(.4f), a5 = _mm256_set1_ps(.5f), a6 = _mm256_set1_ps(.6f), a7 = _mm256_set1_ps(.7f);
  __m256 a8 = _mm256_set1_ps(.8f), a9 = _mm256_set1_ps(.9f), a10 = _mm256_set1_ps(1.f), a11 = _mm256_set1_ps(1.1f);
  for (int64_t i = 0; i < iterations; ++i) {
    a0 = _mm256_fmadd_ps(a0, x, y), a1 = _mm256_fmadd_ps(a1, x, y), a2 = _mm256_fmadd_ps(a2, x, y);
    a3 = _mm256_fmadd_ps(a3, x, y), a4 = _mm256_fmadd_ps(a4, x, y), a5 = _mm256_fmadd_ps(a5, x, y);
    a6 = _mm256_fmadd_ps(a6, x, y), a7 = _mm256_fmadd_ps(a7, x, y), a8 = _mm256_fmadd_ps(a8, x, y);
    a9 = _mm256_fmadd_ps(a9, x, y), a10 = _mm256_fmadd_ps(a10, x, y), a11 = _mm256_fmadd_ps(a11, x, y);
  }
  const __m256 sum = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                                   _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)),
                                                 _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11))));
  float lanes[8];
  _mm256_storeu_ps(lanes, sum);
  return lanes[0];
}
#else
float fma_loop(int64_t) { return 0; }
#endif

// GFLOP/s of the FMA loop on `threads` threads (0 without AVX2 / FMA).
double peak_gflops(int threads, int reps) {
  if (!has_avx2_fma()) return 0;
  const int64_t iterations = 20'000'000;  // ~40 ms per thread
  volatile float sink = 0;
  const double s = median_seconds(reps, [&] {
    parallel_for(0, threads, 1, [&](int64_t, int64_t) { sink = sink + fma_loop(iterations); });
  });
  return 192.0 * double(iterations) * threads / s / 1e9;
}

// ---- report ---------------------------------------------------------------------

double peak_now = 0;  // the N-thread peak, for the % columns

void row(const std::string& name, double seconds, double flops) {
  const double gflops = flops / seconds / 1e9;
  std::printf("  %-44s %9.3f ms", name.c_str(), seconds * 1e3);
  if (flops > 0) std::printf(" %8.1f GFLOP/s", gflops);
  if (flops > 0 && peak_now > 0) std::printf(" %5.1f%%", 100.0 * gflops / peak_now);
  std::printf("\n");
}

// C = A @ B on contiguous float32 [m, k] and [k, n].
double time_gemm(int64_t m, int64_t n, int64_t k, int reps) {
  Generator gen(1);
  const Tensor a = randn({m, k}, DType::Float32, &gen), b = randn({k, n}, DType::Float32, &gen);
  Tensor c = Tensor::empty({m, n});
  const std::vector<int64_t> a_rows = strided_offsets(m, k), a_cols = strided_offsets(k, 1);
  const std::vector<int64_t> b_rows = strided_offsets(k, n), c_rows = strided_offsets(m, n),
                             n_cols = strided_offsets(n, 1);
  return median_seconds(reps, [&] {
    gemm<float>(m, n, k, {a.data<float>(), a_rows.data(), a_cols.data()}, {b.data<float>(), b_rows.data(), n_cols.data()},
                {c.data<float>(), c_rows.data(), n_cols.data()}, false);
  });
}

// The three products of one convolution layer, with the batch folded in as
// matmul and matmul_sum_batch do (see tensor/cpu/matmul.cpp).
struct ConvGemms {
  std::string layer;
  int64_t fwd[3], dx[3], dw[3];  // {m, n, k}
};

std::vector<ConvGemms> infogan_conv_gemms(int64_t b) {
  // conv2d (O, C, k, L): fwd [O, N L] = [O, C k k] @ [C k k, N L]; dx [C k k, N L] = W^T @ dy; dW [O, C k k] over N L.
  auto conv = [&](const char* name, int64_t o, int64_t c, int64_t k, int64_t l) {
    const int64_t ckk = c * k * k;
    return ConvGemms{name, {o, b * l, ckk}, {ckk, b * l, o}, {o, ckk, b * l}};
  };
  // conv_transpose2d (C_in, C_out, k, HW in): fwd [C_out k k, N HW] = W^T @ x; dx [C_in, N HW]; dW [C_in, C_out k k].
  auto convt = [&](const char* name, int64_t c_in, int64_t c_out, int64_t k, int64_t hw) {
    const int64_t ckk = c_out * k * k;
    return ConvGemms{name, {ckk, b * hw, c_in}, {c_in, b * hw, ckk}, {c_in, ckk, b * hw}};
  };
  return {convt("G.main.0  convT 64->512 k1", 64, 512, 1, 1),   convt("G.main.3  convT 512->256 k4", 512, 256, 4, 1),
          convt("G.main.6  convT 256->128 k5", 256, 128, 5, 16), convt("G.main.9  convT 128->64 k2", 128, 64, 2, 49),
          convt("G.main.12 convT 64->1 k2", 64, 1, 2, 196),      conv("D.main.0  conv 1->64 k4 s2", 64, 1, 4, 196),
          conv("D.main.2  conv 64->128 k4 s2", 128, 64, 4, 49),  conv("D.main.5  conv 128->256 k7", 256, 128, 7, 1),
          conv("Q.0       conv 256->128 k1", 128, 256, 1, 1)};
}

// Forward and backward of each layer of `net` in turn, on the input that
// layer sees in the network (fresh, requiring grad except for net's input
// when `input_is_data`).
void time_layers(const std::string& prefix, Sequential& net, const Tensor& input, bool input_is_data, int reps) {
  Tensor x = input;
  for (size_t i = 0; i < net.size(); ++i) {
    Module& layer = net[i];
    Tensor in = x.detach();
    if (i > 0 || !input_is_data) in.set_requires_grad(true);
    Tensor y;
    const double fwd = median_seconds(reps, [&] { y = layer(in); });
    Generator gen(7);
    const Tensor dy = randn(y.shape(), DType::Float32, &gen);
    const double bwd = median_seconds(reps, [&] { y.backward(dy); }, [&] { y = layer(in); });
    // The layer's class name and its output shape, e.g. "G.main.3 ConvTranspose2d -> [64, 256, 4, 4]".
    const std::string kind = layer.describe().substr(0, layer.describe().find('('));
    std::ostringstream name;
    name << prefix << "." << i << " " << kind << " -> " << y.shape();
    std::printf("  %-44s %9.3f ms fwd %9.3f ms bwd\n", name.str().c_str(), fwd * 1e3, bwd * 1e3);
    NoGradGuard no_grad;
    x = layer(in);
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options options = parse(argc, argv);
    set_num_threads(options.threads);
    const int reps = options.reps;
    const int64_t batch = options.batch;
    std::printf("bench_cpu: %d threads, batch %lld, median of %d runs after a warm-up; gemm kernel %s\n",
                options.threads, static_cast<long long>(batch), reps, gemm_kernel_name(gemm_kernel()));

    std::printf("\npeak (AVX2 FMA loop, registers only)\n");
    const double peak_1 = peak_gflops(1, reps);
    peak_now = peak_gflops(options.threads, reps);
    std::printf("  %-44s %9.1f GFLOP/s\n  %-44s %9.1f GFLOP/s\n", "1 thread", peak_1,
                (std::to_string(options.threads) + " threads").c_str(), peak_now);

    if (options.runs("gemm")) {
      std::printf("\nGEMM C = A @ B, float32, contiguous\n");
      for (int64_t s : {256, 512, 1024}) {
        const std::string name = std::to_string(s) + "^3";
        row(name, time_gemm(s, s, s, reps), 2.0 * s * s * s);
      }
      std::printf("\nGEMM on the InfoGAN's convolution shapes (batch folded in), m x n x k\n");
      for (const ConvGemms& g : infogan_conv_gemms(batch)) {
        for (const auto& [what, mnk] :
             {std::pair<const char*, const int64_t*>{"fwd", g.fwd}, {"dx ", g.dx}, {"dW ", g.dw}}) {
          const std::string name = g.layer + " " + what + " " + std::to_string(mnk[0]) + "x" +
                                   std::to_string(mnk[1]) + "x" + std::to_string(mnk[2]);
          row(name, time_gemm(mnk[0], mnk[1], mnk[2], reps), 2.0 * mnk[0] * mnk[1] * mnk[2]);
        }
      }
    }

    manual_seed(0);
    const LatentShape shape;
    SpecGenerator g(shape);
    InfoGanDiscriminator d(shape);
    Generator gen(3);
    const Tensor real = rand({batch, 1, 28, 28}, DType::Float32, &gen);
    std::vector<double> code_values(static_cast<size_t>(batch));
    for (int64_t i = 0; i < batch; ++i) code_values[i] = double(i % shape.n_cat);
    const Tensor codes = tensor(code_values, {batch}, DType::Int64);
    auto latent = [&] {
      const Tensor noise = randn({batch, shape.noise}, DType::Float32, &gen);
      return cat({noise, one_hot(codes, shape.n_cat).to(DType::Float32)}, 1).reshape({batch, shape.input(), 1, 1});
    };

    if (options.runs("layers")) {
      std::printf("\nlayers, forward and backward (input requires grad, as in the G step)\n");
      time_layers("G.main", *g.main, latent(), true, reps);
      time_layers("D.main", *d.main, real, false, reps);
      Tensor trunk;
      {
        NoGradGuard no_grad;
        trunk = (*d.main)(real);
      }
      time_layers("D.D", *d.D, trunk, false, reps);
      time_layers("D.Q", *d.Q, trunk, false, reps);
    }
    if (!options.runs("step")) return 0;

    // The application's own iteration (apps/common/infogan.cpp, the lab
    // preset): D on real and detached fake, then G and Q together, Adam on both.
    InfoGanConfig config = infogan_preset("lab");
    config.batch = batch;
    InfoGan gan(config, Device::cpu());
    auto step = [&] { gan.train_step(Batch{real, Tensor()}, StepClock{}); };
    std::printf("\nfull training step (D update on real + fake, G + Q update, Adam)\n");
    const double step_flops = 16.0e9 * double(batch) / 64.0;
    const double cpu_start = process_cpu_seconds();
    const double step_seconds = median_seconds(reps, step);
    row("step, batch " + std::to_string(batch) + " (" + std::to_string(step_flops / 1e9).substr(0, 5) + " GFLOP)",
        step_seconds, step_flops);
    std::printf("  %-44s %9.3f ms (mean over the warm-up and timed runs, all threads)\n", "step, process CPU time",
                (process_cpu_seconds() - cpu_start) / (reps + 1) * 1e3);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
