// test_norm_loss.cpp — batch_norm, dropout and the losses (binary_cross_entropy,
// binary_cross_entropy_with_logits, cross_entropy, mse_loss, gaussian_nll):
// float64 gradcheck on contiguous and non-contiguous inputs, forward and
// backward values and running-stat updates against PyTorch 1.13, dropout's
// reproducibility and keep rate, and error messages.
//
// Set DL_GRADCHECK_REPORT=1 to print each gradcheck's worst errors.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "doctest/doctest.h"
#include "dl.h"
#include "helpers.h"

using namespace dl;
using namespace test;

namespace {

// check_gradcheck, printing the worst errors when DL_GRADCHECK_REPORT is set.
void gradcheck_ok(const std::function<Tensor(const TensorList&)>& fn, const TensorList& inputs,
                  const std::string& what) {
  const GradcheckResult r = gradcheck(fn, inputs);
  CHECK_MESSAGE(r.passed, what << ": " << r.str());
  if (std::getenv("DL_GRADCHECK_REPORT")) {
    std::printf("gradcheck %-60s max_abs %.3g max_rel %.3g\n", what.c_str(), r.max_abs_error, r.max_rel_error);
  }
}

// The inputs behind the PyTorch references, built the same way in Python:
//   xin(n) = torch.tensor([((i*7) % n) * 0.25 - 1.3 + 0.01*i for i in range(n)], dtype=torch.float64)
//   gin(n) = torch.tensor([(i % 5) - 2 + 0.5 for i in range(n)], dtype=torch.float64)
Tensor xin(const Shape& shape, DType dtype = DType::Float64) {
  const int64_t n = shape_numel(shape);
  Values v;
  for (int64_t i = 0; i < n; ++i) v.push_back(static_cast<double>((i * 7) % n) * 0.25 - 1.3 + 0.01 * i);
  return tensor(v, shape, dtype);
}
Tensor gin(const Shape& shape, DType dtype = DType::Float64) {
  const int64_t n = shape_numel(shape);
  Values v;
  for (int64_t i = 0; i < n; ++i) v.push_back(static_cast<double>(i % 5) - 2 + 0.5);
  return tensor(v, shape, dtype);
}

// Values equal within relative eps, or absolute eps near 0 (doctest's Approx
// with scale 1). With DL_GRADCHECK_REPORT set, prints the worst deviation.
void check_close(const Tensor& t, const Values& expected, double eps) {
  const Values got = vals(t);
  REQUIRE(got.size() == expected.size());
  double worst = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    CHECK(got[i] == doctest::Approx(expected[i]).epsilon(eps).scale(1.0));
    worst = std::max(worst, std::abs(got[i] - expected[i]) / std::max(1.0, std::abs(expected[i])));
  }
  if (std::getenv("DL_GRADCHECK_REPORT")) {
    std::ostringstream what;
    what << t.dtype() << " " << t.shape();
    std::printf("vs PyTorch %-22s max |got - ref| / max(1, |ref|) = %.3g\n", what.str().c_str(), worst);
  }
}

struct BnParams {
  Tensor weight, bias, running_mean, running_var;
};
BnParams bn_params(DType dtype = DType::Float64) {
  return {tensor({0.5, 1.5, -2.0}, {3}, dtype), tensor({0.1, -0.2, 0.3}, {3}, dtype),
          tensor({0.2, -0.1, 0.4}, {3}, dtype), tensor({1.5, 0.8, 2.0}, {3}, dtype)};
}

}  // namespace

// ---- batch_norm ------------------------------------------------------------------

TEST_CASE("batch_norm gradcheck: training, affine and not, [N, C] and [N, C, H, W], contiguous and strided") {
  for (const Shape& shape : {Shape{5, 3}, Shape{2, 3, 2, 3}}) {
    for (bool affine : {true, false}) {
      const std::string what = std::string("batch_norm training ") + (affine ? "affine " : "no affine ") +
                               (shape.size() == 2 ? "[5, 3]" : "[2, 3, 2, 3]");
      const Tensor x = randn_leaf(shape, 3);
      const Tensor w = leaf(tensor({0.5, 1.5, -2.0}, {3}, DType::Float64));
      const Tensor b = leaf(tensor({0.1, -0.2, 0.3}, {3}, DType::Float64));
      // Fresh running stats per evaluation, so every call is the same function.
      auto fn = [&](const Tensor& xv, const TensorList& in) {
        Tensor rm = zeros({3}, DType::Float64), rv = ones({3}, DType::Float64);
        return affine ? batch_norm(xv, rm, rv, in[1], in[2], true, 0.1, 1e-5)
                      : batch_norm(xv, rm, rv, Tensor(), Tensor(), true, 0.1, 1e-5);
      };
      const TensorList inputs = affine ? TensorList{x, w, b} : TensorList{x};
      gradcheck_ok([&](const TensorList& in) { return fn(in[0], in); }, inputs, what);
      // Non-contiguous: the leaf read through a transposed (and back) or sliced view.
      const Tensor xt = randn_leaf(shape.size() == 2 ? Shape{3, 5} : Shape{2, 3, 3, 2}, 4);
      gradcheck_ok(
          [&](const TensorList& in) {
            return fn(shape.size() == 2 ? in[0].transpose(0, 1) : in[0].transpose(2, 3), in);
          },
          affine ? TensorList{xt, w, b} : TensorList{xt}, what + " transposed");
      const Tensor xs = randn_leaf(shape.size() == 2 ? Shape{10, 3} : Shape{4, 3, 2, 3}, 5);
      gradcheck_ok([&](const TensorList& in) { return fn(in[0].slice(0, 0, xs.size(0), 2), in); },
                   affine ? TensorList{xs, w, b} : TensorList{xs}, what + " sliced");
    }
  }
}

TEST_CASE("batch_norm gradcheck: without running stats, weight only, bias only") {
  const Tensor x = randn_leaf({4, 3, 2}, 6);
  const Tensor w = leaf(tensor({0.5, 1.5, -2.0}, {3}, DType::Float64));
  const Tensor b = leaf(tensor({0.1, -0.2, 0.3}, {3}, DType::Float64));
  gradcheck_ok([](const TensorList& in) { return batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], true); },
               {x, w, b}, "batch_norm training [4, 3, 2] no running stats");
  gradcheck_ok([](const TensorList& in) { return batch_norm(in[0], Tensor(), Tensor(), in[1], Tensor(), true); },
               {x, w}, "batch_norm training weight only");
  gradcheck_ok([](const TensorList& in) { return batch_norm(in[0], Tensor(), Tensor(), Tensor(), in[1], true); },
               {x, b}, "batch_norm training bias only");
}

TEST_CASE("batch_norm gradcheck: eval mode (running stats are constants)") {
  const BnParams p = bn_params();
  for (const Shape& shape : {Shape{4, 3}, Shape{2, 3, 2, 2}}) {
    const Tensor x = randn_leaf(shape, 7);
    const Tensor w = leaf(p.weight.clone()), b = leaf(p.bias.clone());
    gradcheck_ok(
        [&](const TensorList& in) { return batch_norm(in[0], p.running_mean, p.running_var, in[1], in[2], false); },
        {x, w, b}, shape.size() == 2 ? "batch_norm eval affine [4, 3]" : "batch_norm eval affine [2, 3, 2, 2]");
    gradcheck_ok(
        [&](const TensorList& in) {
          return batch_norm(in[0], p.running_mean, p.running_var, Tensor(), Tensor(), false);
        },
        {x}, shape.size() == 2 ? "batch_norm eval no affine [4, 3]" : "batch_norm eval no affine [2, 3, 2, 2]");
    const Tensor xt = randn_leaf({3, shape[0]}, 8);  // read transposed: [N, 3]
    if (shape.size() == 2) {
      gradcheck_ok(
          [&](const TensorList& in) {
            return batch_norm(in[0].t(), p.running_mean, p.running_var, in[1], in[2], false);
          },
          {xt, w, b}, "batch_norm eval affine transposed");
    }
  }
}

// Produced by, for shape in [(4, 3), (2, 3, 2, 2)] and training in [True, False]:
//   x = xin(n).reshape(shape).requires_grad_(); w = torch.tensor([0.5, 1.5, -2.0], dtype=D, requires_grad=True)
//   b = torch.tensor([0.1, -0.2, 0.3], ...); rm = torch.tensor([0.2, -0.1, 0.4], dtype=D)
//   rv = torch.tensor([1.5, 0.8, 2.0], dtype=D)
//   y = F.batch_norm(x, rm, rv, w, b, training=training, momentum=0.1, eps=1e-5)
//   (y * gin(n).reshape(shape)).sum().backward(); print(y, rm, rv, x.grad, w.grad, b.grad)
TEST_CASE("batch_norm forward, backward and running stats match PyTorch") {
  struct Ref {
    Shape shape;
    bool training;
    Values y, rm, rv, dx, dw, db;
  };
  const std::vector<Ref> refs = {
      {{4, 3},
       true,
       {-0.5915888966891611, 0.3851906048908287, 3.066355586756645, 0.7561227994230504, -0.8915888966891614,
        -2.324491197692202, 0.3305296322297204, -2.1683683982691515, -0.6221185289188814, -0.09506353496360957,
        1.8747666900674838, 1.0802541398544385},
       {0.167, -0.07700000000000001, 0.399},
       {1.4454, 0.8154000000000001, 1.8954},
       {-0.60226258726736, -0.6245700623883262, 0.2676483951371422, 0.040901512572504205, 3.156271250966488,
        2.1711094552877257, -0.784415172747292, -1.929411752206407, -4.029893605724696, 1.3457762474421477,
        -0.6022894363717544, 1.5911357552998282},
       {2.8372877812888664, -4.078601185602746, -1.7733048633055417},
       {2.0, 1.0, 0.0}},
      {{4, 3},
       false,
       {-0.5123703944645484, 0.7391426809264984, 1.9687678316858879, 0.4184326051215651, -0.4683264802647139,
        -1.255631029537692, 0.12449481577858192, -1.675795641455926, -0.2373998102039298, -0.1694429735644013,
        2.147856702316246, 0.7808314091298322},
       {0.2, -0.1, 0.4},
       {1.5, 0.8, 2.0},
       {-0.6123703944645483, -0.8385202508272307, -0.7071050134262237, 0.6123703944645483, 4.192601254136154,
        2.121315040278671, -0.2041234648215161, 0.8385202508272307, -2.121315040278671, 1.0206173241075804,
        -2.515560752481692, 0.7071050134262237},
       {1.4206993151577518, -3.600046943551577, -1.0606575201393358},
       {2.0, 1.0, 0.0}},
      {{2, 3, 2, 2},
       true,
       {-0.6672919609238589, -0.16713127528460267, 0.33302941035465355, 0.8331900959939097, -1.8446319494851533,
        -0.3602461899498356, 1.1241395695854823, -2.451880669295056, 1.7590784528552916, -0.38090327799913654,
        -2.5208850088535644, 2.634525524568467, 0.2193565272548225, 0.7195172128940788, -0.48541534796412933,
        0.014745337675126808, 0.786779169691092, 2.2711649292264093, -1.3048553096541287, 0.1795304498811891,
        -2.0345255245684677, 3.120885008853564, 0.980903277999136, -1.1590784528552924},
       {0.32, 0.07900000000000003, 0.558},
       {1.7037828571428573, 1.081497142857143, 2.1092114285714287},
       {-0.2979899841296298, -0.16689626286355497, -0.03580254159748017, 0.09529117966859468, 1.1478757038585827,
        -1.8344657000403903, -0.5998021052594835, -0.698988266313568, -1.3095546075564541, -2.8339208634930944,
        1.7212064341339826, 1.2484340823697173, -0.0010097037603204733, 0.13008401750575435, 0.7830703063292241,
        -0.5067470111525878, -0.6887254223151495, 0.5459381724657569, 0.4467520114116724, 1.681415606192579,
        1.7913126944121407, 1.3185403426478757, -0.20582591328876423, -1.7301921692254039},
       {4.308202269483593, -3.750323112159306, -1.896801988711879},
       {3.0, 5.0, 2.0}},
      {{2, 3, 2, 2},
       false,
       {-0.5123703944645484, 0.20614420170718836, 0.9246587978789251, 1.6431733940506619, -0.4683264802647139,
        2.4832648026471382, 5.434856085558991, -1.675795641455926, -0.2373998102039298, -2.7264094574642375,
        -5.215419104724544, 0.7808314091298322, 0.7613600260217122, 1.479874622193449, -0.25109235949300773,
        0.46742223667872895, 4.7640398848972065, 7.715631167809058, 0.6049794407941413, 3.5565707237059936,
        -4.649735093983566, 1.3465154198708111, -1.142494227389496, -3.6315038746498036},
       {0.2, -0.1, 0.4},
       {1.5, 0.8, 2.0},
       {-0.6123703944645483, -0.2041234648215161, 0.2041234648215161, 0.6123703944645483, 4.192601254136154,
        -2.515560752481692, -0.8385202508272307, 0.8385202508272307, -2.121315040278671, -3.5355250671311182,
        2.121315040278671, 0.7071050134262237, 0.2041234648215161, 0.6123703944645483, 1.0206173241075804,
        -0.6123703944645483, -0.8385202508272307, 0.8385202508272307, 2.515560752481692, 4.192601254136154,
        2.121315040278671, 0.7071050134262237, -0.7071050134262237, -2.121315040278671},
       {9.128401346818201, 2.549101562514781, 0.028284200537048422},
       {3.0, 5.0, 2.0}},
  };
  for (const Ref& ref : refs) {
    for (DType dtype : {DType::Float64, DType::Float32}) {
      CAPTURE(ref.shape);
      CAPTURE(ref.training);
      CAPTURE(dtype);
      const double eps = dtype == DType::Float64 ? 1e-12 : 2e-5;
      BnParams p = bn_params(dtype);
      const Tensor x = leaf(xin(ref.shape, dtype));
      p.weight.set_requires_grad(true);
      p.bias.set_requires_grad(true);
      const Tensor y = batch_norm(x, p.running_mean, p.running_var, p.weight, p.bias, ref.training, 0.1, 1e-5);
      CHECK(y.dtype() == dtype);
      CHECK(y.shape() == ref.shape);
      REQUIRE(y.grad_fn());
      CHECK(y.grad_fn()->name == "batch_norm");  // one node, not the ops it is made of
      CHECK(y.grad_fn()->inputs.size() == 3);
      sum(y * gin(ref.shape, dtype)).backward();
      check_close(y, ref.y, eps);
      check_close(p.running_mean, ref.rm, eps);
      check_close(p.running_var, ref.rv, eps);
      check_close(x.grad(), ref.dx, eps);
      check_close(p.weight.grad(), ref.dw, eps);
      check_close(p.bias.grad(), ref.db, eps);
    }
  }
}

// The CPU's fused kernels against Backend's defaults (reduce and binary),
// which backends without their own kernels run: equal up to the order of
// the sums. On a permuted x (trailing dims that do not merge: copied) and a
// broadcast dy (stride 0: read in place), [N, C, H, W] and [N, C].
TEST_CASE("batch_norm kernels: the CPU's fused passes equal the Backend defaults") {
  Backend& cpu = backend(Device::cpu());
  for (const Shape& shape : {Shape{3, 4, 5, 2}, Shape{6, 3}}) {
    CAPTURE(shape);
    Shape reversed(shape.rbegin(), shape.rend());
    std::vector<int64_t> flip;
    for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) flip.push_back(d);
    const Tensor x = (randn64(reversed, 51) * 2.0 + 3.0).permute(flip);
    const Tensor dy = randn64({1, shape[1]}, 52).reshape(shape.size() == 4 ? Shape{1, shape[1], 1, 1} : Shape{1, shape[1]})
                          .expand(shape);
    const int64_t c = shape[1];
    const auto per_channel = [&](uint64_t seed) { return randn64({c}, seed); };
    const auto near = [](const Tensor& a, const Tensor& b) {
      const std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
      REQUIRE(va.size() == vb.size());
      for (size_t i = 0; i < va.size(); ++i) CHECK(va[i] == doctest::Approx(vb[i]).epsilon(1e-12));
    };
    Tensor mean = Tensor::empty({c}, DType::Float64), var = Tensor::empty({c}, DType::Float64);
    Tensor mean_ref = Tensor::empty({c}, DType::Float64), var_ref = Tensor::empty({c}, DType::Float64);
    cpu.batch_norm_stats(x, mean, var);
    cpu.Backend::batch_norm_stats(x, mean_ref, var_ref);
    near(mean, mean_ref);
    near(var, var_ref);

    const Tensor scale = per_channel(53), shift = per_channel(54), dy_scale = per_channel(55);
    for (bool with_dy : {false, true}) {
      Tensor out = Tensor::empty(shape, DType::Float64), out_ref = Tensor::empty(shape, DType::Float64);
      cpu.batch_norm_elemt(x, mean, scale, shift, with_dy ? dy : Tensor(), dy_scale, out);
      cpu.Backend::batch_norm_elemt(x, mean, scale, shift, with_dy ? dy : Tensor(), dy_scale, out_ref);
      near(out, out_ref);
    }
    Tensor sum_dy = Tensor::empty({c}, DType::Float64), sum_dy_xmu = Tensor::empty({c}, DType::Float64);
    Tensor sum_dy_ref = Tensor::empty({c}, DType::Float64), sum_dy_xmu_ref = Tensor::empty({c}, DType::Float64);
    cpu.batch_norm_backward_reduce(dy, x, mean, sum_dy, sum_dy_xmu);
    cpu.Backend::batch_norm_backward_reduce(dy, x, mean, sum_dy_ref, sum_dy_xmu_ref);
    near(sum_dy, sum_dy_ref);
    near(sum_dy_xmu, sum_dy_xmu_ref);
  }
}

TEST_CASE("batch_norm: running stats update only in training; without running stats nothing is written") {
  BnParams p = bn_params();
  const Tensor x = xin({4, 3});
  const Tensor y1 = batch_norm(x, p.running_mean, p.running_var, Tensor(), Tensor(), true, 0.1, 1e-5);
  check_close(p.running_mean, {0.167, -0.077, 0.399}, 1e-12);
  // A second training call moves them again: 0.9 * (0.167, -0.077, 0.399) + 0.1 * batch mean (-0.13, 0.13, 0.39).
  batch_norm(x, p.running_mean, p.running_var, Tensor(), Tensor(), true, 0.1, 1e-5);
  check_close(p.running_mean, {0.1373, -0.0563, 0.3981}, 1e-12);
  const Values rm = vals(p.running_mean), rv = vals(p.running_var);
  batch_norm(x, p.running_mean, p.running_var, Tensor(), Tensor(), false, 0.1, 1e-5);
  CHECK(vals(p.running_mean) == rm);
  CHECK(vals(p.running_var) == rv);
  // No running stats (track_running_stats=False): the same normalised output.
  const Tensor y2 = batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5);
  check_close(y2, vals(y1), 1e-15);
  // The training output has per-channel mean 0 and biased variance 1 (up to eps).
  check_close(mean(y1, {0}), {0, 0, 0}, 1e-12);
  check_close(var(y1, {0}, false), {1, 1, 1}, 1e-4);
  // Nothing recorded when nothing requires grad.
  CHECK_FALSE(y1.requires_grad());
}

TEST_CASE("batch_norm errors name the op and the shapes") {
  const BnParams p = bn_params();
  const Tensor x = xin({4, 3});
  CHECK_THROWS_WITH_AS(batch_norm(zeros({4, 3}, DType::Int64), p.running_mean, p.running_var, p.weight, p.bias, true),
                       doctest::Contains("batch_norm: expected a float32 or float64 tensor, got int64 [4, 3]"), Error);
  CHECK_THROWS_WITH_AS(batch_norm(xin({4}), Tensor(), Tensor(), Tensor(), Tensor(), true),
                       doctest::Contains("batch_norm: expected an input [N, C] or [N, C, ...], got [4]"), Error);
  CHECK_THROWS_WITH_AS(batch_norm(x, p.running_mean, p.running_var, tensor({1, 2}, {2}, DType::Float64), p.bias, true),
                       doctest::Contains("batch_norm: weight has shape [2], expected [3] for input [4, 3]"), Error);
  CHECK_THROWS_WITH_AS(batch_norm(x, zeros({4}, DType::Float64), p.running_var, p.weight, p.bias, true),
                       doctest::Contains("batch_norm: running_mean has shape [4], expected [3]"), Error);
  CHECK_THROWS_WITH_AS(batch_norm(x, p.running_mean, p.running_var, p.weight, zeros({3}), true),
                       doctest::Contains("batch_norm: bias has dtype float32, input has float64"), Error);
  CHECK_THROWS_WITH_AS(batch_norm(x, Tensor(), Tensor(), p.weight, p.bias, false),
                       doctest::Contains("batch_norm: running_mean is required in eval mode"), Error);
  CHECK_THROWS_WITH_AS(batch_norm(x, p.running_mean, Tensor(), p.weight, p.bias, true),
                       doctest::Contains("batch_norm: give both running_mean and running_var"), Error);
  CHECK_THROWS_WITH_AS(batch_norm(xin({1, 3}), p.running_mean, p.running_var, p.weight, p.bias, true),
                       doctest::Contains("batch_norm: expected more than 1 value per channel when training, got "
                                         "input [1, 3]"),
                       Error);
  // Eval mode with one sample is fine (as PyTorch).
  CHECK(batch_norm(xin({1, 3}), p.running_mean, p.running_var, p.weight, p.bias, false).shape() == Shape{1, 3});
}

// ---- layer_norm --------------------------------------------------------------------

TEST_CASE("layer_norm gradcheck and gradgradcheck: last one and two dims, affine and not, transposed input") {
  const Tensor weight = leaf(randn64({4}, 31) * 0.5 + 1.0), bias = leaf(randn64({4}, 32));
  const Tensor weight2 = leaf(randn64({3, 4}, 33) * 0.5 + 1.0);
  const Tensor x = leaf(randn64({3, 4}, 34) * 2.0 + 0.5);
  const std::vector<std::pair<std::string, std::function<Tensor(const TensorList&)>>> cases = {
      {"last dim, affine", [](const TensorList& in) { return layer_norm(in[0], {4}, in[1], in[2]); }},
      {"last dim, no affine", [](const TensorList& in) { return layer_norm(in[0], {4}, Tensor(), Tensor()); }},
      {"last two dims, weight only", [](const TensorList& in) { return layer_norm(in[0], {3, 4}, in[3], Tensor()); }},
      {"transposed input", [](const TensorList& in) { return layer_norm(in[0].t().t() * 1.0, {4}, in[1], in[2]); }},
  };
  for (const auto& [name, fn] : cases) {
    CAPTURE(name);
    const GradcheckResult first = gradcheck(fn, {x, weight, bias, weight2});
    CHECK_MESSAGE(first.passed, first.str());
    const GradcheckResult second = gradgradcheck(fn, {x, weight, bias, weight2});
    CHECK_MESSAGE(second.passed, second.str());
  }
  const Tensor xt = leaf(randn64({4, 3}, 35));
  const GradcheckResult strided = gradgradcheck(
      [](const TensorList& in) { return layer_norm(in[0].transpose(0, 1), {4}, Tensor(), Tensor()); }, {xt});
  CHECK_MESSAGE(strided.passed, strided.str());
}

TEST_CASE("layer_norm: each row normalised to mean 0 and variance 1 before the affine part; errors") {
  const Tensor x = tensor({1.0, 2.0, 3.0, 4.0, -2.0, 0.0, 2.0, 4.0}, {2, 4}, DType::Float64);
  const Tensor y = layer_norm(x, {4}, Tensor(), Tensor(), 0.0);
  const std::vector<double> row_mean = mean(y, {1}).to_vector<double>();
  const std::vector<double> row_var = mean(y * y, {1}).to_vector<double>();
  for (int r = 0; r < 2; ++r) {
    CHECK(row_mean[r] == doctest::Approx(0.0).epsilon(1e-12));
    CHECK(row_var[r] == doctest::Approx(1.0).epsilon(1e-12));
  }
  CHECK_THROWS_WITH_AS(layer_norm(x, {3}, Tensor(), Tensor()),
                       "layer_norm: input of shape [2, 4] does not end with normalized_shape [3]", Error);
  CHECK_THROWS_WITH_AS(layer_norm(x, {4}, ones({3}, DType::Float64), Tensor()),
                       "layer_norm: weight and bias must have shape [4], got [3]", Error);
  CHECK_THROWS_WITH_AS(LayerNorm(Shape{}), "LayerNorm: normalized_shape must not be empty", Error);
}

// ---- dropout -----------------------------------------------------------------------

TEST_CASE("dropout gradcheck (reseeded inside fn, so each evaluation uses the same mask)") {
  for (double prob : {0.3, 0.7}) {
    const Tensor x = randn_leaf({4, 5}, 8);
    gradcheck_ok(
        [prob](const TensorList& in) {
          Generator gen(42);
          return dropout(in[0], prob, true, &gen);
        },
        {x}, "dropout p=" + std::to_string(prob));
    gradcheck_ok(
        [prob](const TensorList& in) {
          Generator gen(42);
          return dropout(in[0].transpose(0, 1), prob, true, &gen);
        },
        {x}, "dropout transposed p=" + std::to_string(prob));
  }
}

TEST_CASE("dropout: same seed same mask, keep rate 1 - p, kept values scaled by 1 / (1 - p)") {
  const double p = 0.3;
  const Tensor x = ones({100000}, DType::Float64);
  Generator g1(7), g2(7), g3(8);
  const Tensor a = dropout(x, p, true, &g1);
  const Tensor b = dropout(x, p, true, &g2);
  const Tensor c = dropout(x, p, true, &g3);
  CHECK(vals(a) == vals(b));
  CHECK(vals(a) != vals(c));
  CHECK(g1.offset == 1);  // one draw
  // Each value is 0 or 1 / (1 - p); the kept fraction is 1 - p within 5 sigma
  // (sigma = sqrt(p (1 - p) / 1e5) = 0.00145).
  int64_t kept = 0, other = 0;
  for (double v : vals(a)) {
    if (v == 1.0 / (1.0 - p)) ++kept;
    else if (v != 0.0) ++other;
  }
  CHECK(other == 0);
  CHECK(std::abs(static_cast<double>(kept) / 1e5 - (1.0 - p)) < 0.0073);
  // The mean of the scaled mask is ~1, so dropout keeps the expectation.
  CHECK(std::abs(mean(a).item() - 1.0) < 0.011);
  // float32 too.
  Generator g4(7);
  const Tensor f = dropout(ones({100000}), 0.5, true, &g4);
  CHECK(std::abs(mean(f).item() - 1.0) < 0.016);  // 5 sigma of 2 * Bernoulli(0.5) / 1e5
  // The gradient uses the same mask.
  const Tensor xl = leaf(ones({1000}, DType::Float64));
  Generator g5(3);
  const Tensor y = dropout(xl, p, true, &g5);
  sum(y).backward();
  CHECK(vals(xl.grad()) == vals(y));
}

TEST_CASE("dropout: eval and p = 0 are the identity; p = 1 gives zeros and zero gradient") {
  const Tensor x = leaf(xin({3, 4}));
  Generator gen(1);
  CHECK(dropout(x, 0.5, false, &gen).same(x));
  CHECK(dropout(x, 0.0, true, &gen).same(x));
  CHECK(gen.offset == 0);  // no draw
  const Tensor y = dropout(x, 1.0, true, &gen);
  CHECK(vals(y) == Values(12, 0.0));
  sum(y).backward();
  CHECK(vals(x.grad()) == Values(12, 0.0));
}

TEST_CASE("dropout errors: p outside [0, 1], integer input") {
  const Tensor x = ones({3});
  CHECK_THROWS_WITH_AS(dropout(x, -0.1, true), doctest::Contains("dropout: probability p must be in [0, 1], got -0.1"),
                       Error);
  CHECK_THROWS_WITH_AS(dropout(x, 1.5, true), doctest::Contains("dropout: probability p must be in [0, 1], got 1.5"),
                       Error);
  CHECK_THROWS_WITH_AS(dropout(x, 1.5, false), doctest::Contains("dropout: probability p"), Error);
  CHECK_THROWS_WITH_AS(dropout(ones({3}, DType::Int64), 0.5, true),
                       doctest::Contains("dropout: expected a float32 or float64 tensor, got int64 [3]"), Error);
}

// ---- losses: gradcheck ---------------------------------------------------------------

TEST_CASE("binary_cross_entropy gradcheck: mid-range, near 0 and 1, target gradient, transposed") {
  const Tensor p = leaf({0.3, 0.8, 0.45, 0.6, 0.1, 0.95}, {2, 3});
  const Tensor t = leaf({0.0, 1.0, 0.3, 1.0, 0.7, 0.0}, {2, 3});
  auto bce = [](const TensorList& in) { return binary_cross_entropy(in[0], in[1]); };
  gradcheck_ok(bce, {p, t}, "binary_cross_entropy");
  const Tensor edge = leaf({1e-3, 1.0 - 1e-3, 1e-3, 1.0 - 1e-3}, {2, 2});
  const Tensor edge_t = leaf({0.0, 1.0, 1.0, 0.0}, {2, 2});
  gradcheck_ok(bce, {edge, edge_t}, "binary_cross_entropy p = 1e-3, 1 - 1e-3");
  gradcheck_ok([](const TensorList& in) { return binary_cross_entropy(in[0].t(), in[1].t()); }, {p, t},
               "binary_cross_entropy transposed");
  gradcheck_ok([](const TensorList& in) { return binary_cross_entropy(in[0].slice(1, 0, 3, 2), in[1].slice(1, 1, 3)); },
               {p, t}, "binary_cross_entropy sliced");
}

TEST_CASE("binary_cross_entropy_with_logits gradcheck: large |z|, target gradient, transposed") {
  const Tensor z = leaf({-30, -2, -0.5, 0.1, 0.7, 3, 40, 1.5}, {2, 4});
  const Tensor t = leaf({0, 1, 0.25, 1, 0, 0.6, 1, 0.5}, {2, 4});
  gradcheck_ok([](const TensorList& in) { return binary_cross_entropy_with_logits(in[0], in[1]); }, {z, t},
               "binary_cross_entropy_with_logits");
  gradcheck_ok([](const TensorList& in) { return binary_cross_entropy_with_logits(in[0].t(), in[1].t()); }, {z, t},
               "binary_cross_entropy_with_logits transposed");
}

TEST_CASE("cross_entropy gradcheck: contiguous, transposed, large logits") {
  const Tensor target = int64s({2, 0, 3}, {3});
  gradcheck_ok([&](const TensorList& in) { return cross_entropy(in[0], target); }, {randn_leaf({3, 4}, 9)},
               "cross_entropy");
  gradcheck_ok([&](const TensorList& in) { return cross_entropy(in[0].t(), target); }, {randn_leaf({4, 3}, 10)},
               "cross_entropy transposed");
  gradcheck_ok([&](const TensorList& in) { return cross_entropy(in[0] * 30.0, target); }, {randn_leaf({3, 4}, 11)},
               "cross_entropy logits * 30");
}

TEST_CASE("mse_loss gradcheck: both inputs, transposed") {
  const Tensor a = randn_leaf({3, 4}, 12), b = randn_leaf({3, 4}, 13);
  gradcheck_ok([](const TensorList& in) { return mse_loss(in[0], in[1]); }, {a, b}, "mse_loss");
  gradcheck_ok([](const TensorList& in) { return mse_loss(in[0].t(), in[1].t()); }, {a, b}, "mse_loss transposed");
}

TEST_CASE("gaussian_nll gradcheck: x, mean and log_std; broadcast; transposed") {
  const Tensor x = randn_leaf({3, 4}, 14), mu = randn_leaf({3, 4}, 15);
  const Tensor log_std = leaf(randn64({3, 4}, 16) * 0.5);
  auto nll = [](const TensorList& in) { return gaussian_nll(in[0], in[1], in[2]); };
  gradcheck_ok(nll, {x, mu, log_std}, "gaussian_nll");
  gradcheck_ok([](const TensorList& in) { return gaussian_nll(in[0].t(), in[1].t(), in[2].t()); }, {x, mu, log_std},
               "gaussian_nll transposed");
  gradcheck_ok(nll, {x, randn_leaf({4}, 17), leaf(randn64({3, 1}, 18) * 0.5)}, "gaussian_nll broadcast");
}

// ---- losses: values against PyTorch ----------------------------------------------------

// p = torch.tensor([0.001, 0.2, 0.5, 0.8, 0.999, 0.35], dtype=D, requires_grad=True)
// t = torch.tensor([0, 1, 0.3, 1, 1, 0], dtype=D, requires_grad=True)
// l = F.binary_cross_entropy(p, t); l.backward(); print(l, p.grad, t.grad)
// p = torch.tensor([0.0, 1.0, 0.0, 1.0], dtype=D, requires_grad=True); t = torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=D)
// l = F.binary_cross_entropy(p, t); l.backward(); print(l, p.grad)
TEST_CASE("binary_cross_entropy matches PyTorch, including log clamped at -100 and its 1e-12f clamp") {
  for (DType dtype : {DType::Float64, DType::Float32}) {
    CAPTURE(dtype);
    const double eps = dtype == DType::Float64 ? 1e-12 : 1e-5;
    const Tensor p = leaf(tensor({0.001, 0.2, 0.5, 0.8, 0.999, 0.35}, {6}, dtype));
    const Tensor t = leaf(tensor({0, 1, 0.3, 1, 1, 0}, {6}, dtype));
    const Tensor l = binary_cross_entropy(p, t);
    CHECK(l.shape() == Shape{});
    CHECK(l.grad_fn()->name == "binary_cross_entropy");
    l.backward();
    check_close(l, {0.49308542684464607}, eps);
    check_close(p.grad(), {0.1668335001668335, -0.8333333333333331, 0.13333333333333333, -0.20833333333333334,
                           -0.1668335001668335, 0.25641025641025644},
                dtype == DType::Float64 ? eps : 2e-4);  // float32 rounds 0.999 before 1 - p
    check_close(t.grad(), {1.1511257964414254, 0.23104906018664842, 0.0, -0.23104906018664848, -1.1511257964414254,
                           0.10317320140103727},
                dtype == DType::Float64 ? eps : 2e-4);
  }
  const Tensor p = leaf({0.0, 1.0, 0.0, 1.0}, {4});
  const Tensor l = binary_cross_entropy(p, tensor({1.0, 0.0, 0.0, 1.0}, {4}, DType::Float64));
  CHECK(l.item() == 50.0);
  l.backward();
  check_close(p.grad(), {-250000000998.9507, 250000000998.9507, 0.0, 0.0}, 1e-12);
}

// z = torch.tensor([-30, -2, -0.5, 0, 0.7, 3, 40], dtype=D, requires_grad=True)
// t = torch.tensor([0, 1, 0.25, 1, 0, 0.6, 1], dtype=D, requires_grad=True)
// l = F.binary_cross_entropy_with_logits(z, t); l.backward(); print(l, z.grad, t.grad)
TEST_CASE("binary_cross_entropy_with_logits matches PyTorch, stable at |z| = 30, 40") {
  for (DType dtype : {DType::Float64, DType::Float32}) {
    CAPTURE(dtype);
    const double eps = dtype == DType::Float64 ? 1e-12 : 1e-5;
    const Tensor z = leaf(tensor({-30, -2, -0.5, 0, 0.7, 3, 40}, {7}, dtype));
    const Tensor t = leaf(tensor({0, 1, 0.25, 1, 0, 0.6, 1}, {7}, dtype));
    const Tensor l = binary_cross_entropy_with_logits(z, t);
    l.backward();
    check_close(l, {0.8244179394631883}, eps);
    check_close(z.grad(), {1.336803281262757e-14, -0.12582815399684036, 0.018220095542592202, -0.07142857142857142,
                           0.09545539602402374, 0.05036773240320477, 0.0},
                eps);
    check_close(t.grad(), {4.285714285714286, 0.2857142857142857, 0.07142857142857142, -0.0, -0.09999999999999999,
                           -0.42857142857142855, -5.714285714285714},
                eps);
  }
}

// lg = xin(12).reshape(3, 4).requires_grad_(); tg = torch.tensor([2, 0, 3])
// l = F.cross_entropy(lg, tg); l.backward(); print(l, lg.grad)
// and again with lg = (xin(12).reshape(3, 4) * 40).requires_grad_()
TEST_CASE("cross_entropy matches PyTorch, stable for large logits") {
  const Tensor target = int64s({2, 0, 3}, {3});
  for (DType dtype : {DType::Float64, DType::Float32}) {
    CAPTURE(dtype);
    const double eps = dtype == DType::Float64 ? 1e-12 : 1e-5;
    Tensor lg = leaf(xin({3, 4}, dtype));
    Tensor l = cross_entropy(lg, target);
    CHECK(l.grad_fn()->name == "cross_entropy");
    l.backward();
    check_close(l, {2.1803987807871623}, eps);
    check_close(lg.grad(), {0.018243702026196813, 0.10604037586940465, -0.3026469220924027, 0.1783628441968012,
                            -0.2962188395852472, 0.21572567133569676, 0.06242760468885729, 0.018065563560693172,
                            0.09639025836244289, 0.027893819533158563, 0.16213107972724822, -0.2864151576228497},
                eps);
    lg = leaf(xin({3, 4}, dtype) * 40.0);
    l = cross_entropy(lg, target);
    l.backward();
    check_close(l, {63.466666667284095}, eps);
    check_close(lg.grad(), {8.226630574652528e-41, 3.0871200706634815e-10, -0.3333333333333333, 0.3333333330246213,
                            -0.3333333333333333, 0.3333333333333333, 9.591188862548045e-23, 2.75972711391197e-44,
                            3.0871200706634815e-10, 8.882745491728837e-32, 0.3333333330246213, -0.3333333333333333},
                eps);
  }
}

// a = xin(6).reshape(2, 3).requires_grad_(); b = gin(6).reshape(2, 3).requires_grad_()
// l = F.mse_loss(a, b); l.backward(); print(l, a.grad, b.grad)
TEST_CASE("mse_loss matches PyTorch") {
  for (DType dtype : {DType::Float64, DType::Float32}) {
    CAPTURE(dtype);
    const double eps = dtype == DType::Float64 ? 1e-12 : 1e-5;
    const Tensor a = leaf(xin({2, 3}, dtype)), b = leaf(gin({2, 3}, dtype));
    const Tensor l = mse_loss(a, b);
    l.backward();
    check_close(l, {2.6530000000000005}, eps);
    check_close(a.grad(), {0.06666666666666665, -0.18, -0.42666666666666664, -0.6733333333333333, -0.92, 0.5}, eps);
    check_close(b.grad(), {-0.06666666666666665, 0.18, 0.42666666666666664, 0.6733333333333333, 0.92, -0.5}, eps);
  }
}

// x = xin(6).reshape(2, 3).requires_grad_(); mu = (gin(6) * 0.3).reshape(2, 3).requires_grad_()
// ls = torch.tensor([0.2, -0.5, 0.1, 0.0, 0.4, -0.3], dtype=D).reshape(2, 3).requires_grad_()
// l = -torch.distributions.Normal(mu, ls.exp()).log_prob(x).mean(); l.backward(); print(l, x.grad, mu.grad, ls.grad)
TEST_CASE("gaussian_nll matches PyTorch's -Normal(mean, exp(log_std)).log_prob(x).mean()") {
  for (DType dtype : {DType::Float64, DType::Float32}) {
    CAPTURE(dtype);
    const double eps = dtype == DType::Float64 ? 1e-12 : 1e-5;
    const Tensor x = leaf(xin({2, 3}, dtype)), mu = leaf(gin({2, 3}, dtype) * 0.3);
    const Tensor ls = leaf(tensor({0.2, -0.5, 0.1, 0.0, 0.4, -0.3}, {2, 3}, dtype));
    const Tensor l = gaussian_nll(x, mu, ls);
    CHECK(l.grad_fn()->name == "gaussian_nll");
    l.backward();
    check_close(l, {1.3284232858126195}, eps);
    check_close(x.grad(), {-0.09496200652171556, -0.40321180455475836, -0.12690326672708716, -0.16166666666666665,
                           -0.07563704229306563, 0.13665891002928812},
                eps);
    check_close(mu.grad(), {0.09496200652171556, 0.40321180455475836, 0.12690326672708716, 0.16166666666666665,
                            0.07563704229306563, -0.13665891002928812},
                eps);
    check_close(ls.grad(), {0.08594896112320839, -0.19219183938706824, 0.04864662861047559, 0.009849999999999998,
                            0.09027325395067037, 0.10517015715348704},
                eps);
  }
}

// ---- losses: errors -------------------------------------------------------------------

TEST_CASE("loss errors name the op: shapes, dtypes, target dtype and range, p outside [0, 1]") {
  const Tensor a = zeros({2, 3}), b = zeros({3, 2});
  CHECK_THROWS_WITH_AS(
      binary_cross_entropy(a, b),
      doctest::Contains("binary_cross_entropy: input [2, 3] and target [3, 2] must have the same shape"), Error);
  CHECK_THROWS_WITH_AS(
      binary_cross_entropy(a, zeros({2, 3}, DType::Float64)),
      doctest::Contains("binary_cross_entropy: dtype mismatch, input float32 [2, 3] and target float64"), Error);
  CHECK_THROWS_WITH_AS(binary_cross_entropy(tensor({0.5, 1.5}), zeros({2})),
                       doctest::Contains("binary_cross_entropy: all elements of input should be between 0 and 1"),
                       Error);
  CHECK_THROWS_WITH_AS(binary_cross_entropy(tensor({-0.5, 0.5}), zeros({2})),
                       doctest::Contains("binary_cross_entropy: all elements of input should be between 0 and 1"),
                       Error);
  CHECK_THROWS_WITH_AS(binary_cross_entropy(tensor({std::nan(""), 0.5}), zeros({2})),
                       doctest::Contains("binary_cross_entropy: all elements of input should be between 0 and 1"),
                       Error);
  CHECK_THROWS_WITH_AS(binary_cross_entropy_with_logits(a, zeros({2, 1})),
                       doctest::Contains("binary_cross_entropy_with_logits: input [2, 3] and target [2, 1] must have "
                                         "the same shape"),
                       Error);
  CHECK_THROWS_WITH_AS(binary_cross_entropy_with_logits(zeros({2}, DType::Int64), zeros({2}, DType::Int64)),
                       doctest::Contains("binary_cross_entropy_with_logits: expected a float32 or float64 input"),
                       Error);
  CHECK_THROWS_WITH_AS(mse_loss(a, zeros({3})),
                       doctest::Contains("mse_loss: input [2, 3] and target [3] must have the same shape"), Error);
  CHECK_THROWS_WITH_AS(gaussian_nll(a, zeros({2}), zeros({3})), doctest::Contains("gaussian_nll: shapes"), Error);
  CHECK_THROWS_WITH_AS(gaussian_nll(a, zeros({3}), zeros({3}, DType::Float64)),
                       doctest::Contains("gaussian_nll: dtype mismatch"), Error);

  const Tensor logits = zeros({3, 4});
  CHECK_THROWS_WITH_AS(cross_entropy(logits, int64s({1, 4, 0}, {3})),
                       doctest::Contains("cross_entropy: a target index is out of range for 4 classes"),
                       Error);
  CHECK_THROWS_WITH_AS(cross_entropy(logits, int64s({1, 2, -1}, {3})),
                       doctest::Contains("cross_entropy: a target index is out of range for 4 classes"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(logits, zeros({3})),
                       doctest::Contains("cross_entropy: expected int64 class indices as target, got float32 [3]"),
                       Error);
  CHECK_THROWS_WITH_AS(cross_entropy(logits, int64s({1, 2}, {2})),
                       doctest::Contains("cross_entropy: target [2] does not match logits [3, 4] (expected [3])"),
                       Error);
  CHECK_THROWS_WITH_AS(cross_entropy(zeros({4}), int64s({1}, {1})),
                       doctest::Contains("cross_entropy: expected logits [N, K], got [4]"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(zeros({3, 4}, DType::Int64), int64s({1, 2, 0}, {3})),
                       doctest::Contains("cross_entropy: expected float32 or float64 logits, got int64 [3, 4]"), Error);
}

TEST_CASE("losses record one node and nothing when no input requires grad") {
  const Tensor p = leaf({0.3, 0.6}, {2});
  CHECK(binary_cross_entropy(p, tensor({0.0, 1.0}, {2}, DType::Float64)).grad_fn()->inputs.size() == 2);
  CHECK(mse_loss(p, p).grad_fn()->name == "mse_loss");
  CHECK(binary_cross_entropy_with_logits(p, p).grad_fn()->name == "binary_cross_entropy_with_logits");
  CHECK_FALSE(mse_loss(zeros({2}), ones({2})).requires_grad());
  {
    NoGradGuard no_grad;
    CHECK_FALSE(mse_loss(p, zeros({2}, DType::Float64)).requires_grad());
  }
  // A target that does not require grad gets none (the engine skips it).
  const Tensor t = tensor({0.0, 1.0}, {2}, DType::Float64);
  binary_cross_entropy(p, t).backward();
  CHECK_FALSE(t.grad().defined());
  CHECK(p.grad().defined());
}
