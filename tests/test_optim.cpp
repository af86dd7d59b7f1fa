// test_optim.cpp — SGD and Adam against PyTorch 1.13's trajectories on a
// fixed problem, their state (names, checkpoint round trip) and errors.
#include <algorithm>
#include <cmath>

#include "doctest/doctest.h"
#include "helpers.h"
#include "optim/optimizer.h"
#include "tensor/backend.h"

using namespace dl;
using namespace test;

namespace {

// 5 steps on L = sum(p^2 * [1, 2, 3]) + p0 p1 from p = [1, -2, 0.5] (float64).
// Reference (PyTorch 1.13, /usr/bin/python3):
//   p = torch.tensor([1., -2., .5], dtype=torch.float64, requires_grad=True); opt = <optimizer>([p])
//   for _ in range(5): opt.zero_grad(); ((p*p*torch.tensor([1.,2.,3.],dtype=torch.float64)).sum()
//                      + p[0]*p[1]).backward(); opt.step()
template <typename MakeOptimizer>
Values run_five_steps(MakeOptimizer make) {
  Tensor p = leaf({1.0, -2.0, 0.5}, {3});
  auto optimizer = make(std::vector<ParamGroup>{{{{"p", p}}, 0.0}});
  const Tensor weights = f64({1.0, 2.0, 3.0});
  for (int step = 0; step < 5; ++step) {
    optimizer.zero_grad();
    (sum(p * p * weights) + p.select(0, 0) * p.select(0, 1)).backward();
    optimizer.step();
  }
  return vals(p);
}

void check_close(const Values& got, const Values& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-12));
}

}  // namespace

TEST_CASE("Adam matches PyTorch: lr 0.1, betas (0.5, 0.999), weight decay 0.01") {
  check_close(run_five_steps([](std::vector<ParamGroup> g) {
                g[0].lr = 0.1;
                return Adam(g, 0.5, 0.999, 1e-8, 0.01);
              }),
              {0.7549307804078167, -1.514994565808108, 0.07790156555271799});
}

TEST_CASE("SGD matches PyTorch: plain, momentum + weight decay, Nesterov") {
  check_close(run_five_steps([](std::vector<ParamGroup> g) {
                g[0].lr = 0.05;
                return SGD(g);
              }),
              {0.871445, -0.8167265625, 0.08403499999999998});
  check_close(run_five_steps([](std::vector<ParamGroup> g) {
                g[0].lr = 0.05;
                return SGD(g, 0.9, 0.01);
              }),
              {0.5755094325649125, 0.7893048531840344, -0.38928356526477814});
  check_close(run_five_steps([](std::vector<ParamGroup> g) {
                g[0].lr = 0.05;
                return SGD(g, 0.9, 0.0, true);
              }),
              {0.3025618772374999, 0.5439125620781252, -0.17392611985});
}

TEST_CASE("the fused Adam kernel equals the tensor-op formula bit for bit (float32 and float64)") {
  for (const DType dtype : {DType::Float32, DType::Float64}) {
    for (const double decay : {0.0, 0.01}) {
      Generator gen(3);  // 1003 = 125 * 8 + 3: the AVX2 loop and its scalar tail
      const Tensor start = randn({1003}, dtype, &gen);
      Tensor p = start.clone(), m = zeros({1003}, dtype), v = zeros({1003}, dtype);
      // The unfused update, as Adam::step wrote it before the kernel existed.
      Tensor p_ref = start.clone(), m_ref = m.clone(), v_ref = v.clone();
      const Tensor step = scalar_tensor(0, DType::Int64);
      const double lr = 1e-3, b1 = 0.5, b2 = 0.999, eps = 1e-8;
      for (int64_t t = 1; t <= 5; ++t) {
        const Tensor grad = randn({1003}, dtype, &gen);
        backend(Device::cpu()).adam_step({{p, grad, m, v, step}}, {lr, b1, b2, eps, decay, 0});
        CHECK(step.item() == double(t));
        const Tensor g = decay != 0 ? grad + p_ref * decay : grad;
        m_ref = m_ref * b1 + g * (1 - b1);
        v_ref = v_ref * b2 + g * g * (1 - b2);
        const double step_size = lr / (1 - std::pow(b1, double(t)));
        const Tensor denom = sqrt(v_ref) / std::sqrt(1 - std::pow(b2, double(t))) + eps;
        p_ref = p_ref + (m_ref / denom) * -step_size;
      }
      CHECK(vals(p) == vals(p_ref));
      CHECK(vals(m) == vals(m_ref));
      CHECK(vals(v) == vals(v_ref));
    }
  }
}

TEST_CASE("the fused Adam kernel refuses operands that do not fit") {
  const Tensor p = zeros({4}), g = zeros({4}), step = scalar_tensor(0, DType::Int64);
  Backend& cpu = backend(Device::cpu());
  const Backend::AdamOptions options = {0.1, 0.9, 0.999, 1e-8, 0, 0};
  CHECK_THROWS_WITH_AS(cpu.adam_step({{p, g, zeros({4}), zeros({4}), scalar_tensor(0)}}, options),
                       "adam_step: step must be a 0-dim int64 tensor on cpu, got float32 [] on cpu", Error);
  CHECK_THROWS_WITH_AS(cpu.adam_step({{p, g, zeros({5}), zeros({4}), step}}, options),
                       "adam_step: exp_avg must be a contiguous float32 tensor [4] on cpu, got float32 [5] on cpu",
                       Error);
  CHECK_THROWS_WITH_AS(cpu.adam_step({{p, g, zeros({4}), zeros({4}, DType::Float64), step}}, options),
                       doctest::Contains("adam_step: exp_avg_sq must be a contiguous float32 tensor"), Error);
  CHECK_THROWS_WITH_AS(cpu.adam_step({{zeros({4}, DType::Int64), zeros({4}, DType::Int64), zeros({4}, DType::Int64),
                                       zeros({4}, DType::Int64), step}},
                                     options),
                       "adam_step: param must be float32 or float64, got int64", Error);
  // A refused list changes nothing, not even the counters of the parameters that fit.
  CHECK_THROWS_AS(cpu.adam_step({{p, g, zeros({4}), zeros({4}), step}, {p, g, zeros({5}), zeros({4}), step}}, options),
                  Error);
  CHECK(step.item() == 0.0);
}

TEST_CASE("Adam's step counter lives on the parameter's device (here the CPU)") {
  Tensor w = leaf({1.0, 2.0}, {2});
  Adam adam({{{{"w", w}}, 0.01}});
  sum(w * w).backward();
  adam.step();
  adam.step();
  const std::vector<NamedTensor> state = adam.state_dict();
  REQUIRE(state.size() == 3);
  CHECK(state[2].name == "w.step");
  CHECK(state[2].tensor.device() == Device::cpu());
  CHECK(state[2].tensor.item() == 2.0);
}

TEST_CASE("Adam's cosine_steps: the rate of setting lr * (1 + cos(pi (t - 1) / T)) / 2 by hand, bit for bit") {
  const int64_t total = 4;
  Tensor scheduled = leaf({1.0, -2.0, 0.5}, {3}), by_hand = leaf({1.0, -2.0, 0.5}, {3});
  Adam on_device({{{{"w", scheduled}}, 0.1, total}}, 0.5, 0.999);
  Adam from_host({{{{"w", by_hand}}, 0.1}}, 0.5, 0.999);
  std::vector<double> moved;
  for (int64_t t = 1; t <= total + 2; ++t) {
    for (Adam* adam : {&on_device, &from_host}) adam->zero_grad();
    sum(scheduled * scheduled).backward();
    sum(by_hand * by_hand).backward();
    const double progress = std::min(1.0, static_cast<double>(t - 1) / total);
    from_host.groups()[0].lr = 0.1 * 0.5 * (1.0 + std::cos(M_PI * progress));
    const double before = vals(scheduled)[0];
    on_device.step();
    from_host.step();
    CAPTURE(t);
    CHECK(vals(scheduled) == vals(by_hand));
    moved.push_back(std::abs(vals(scheduled)[0] - before));
  }
  CHECK(moved[0] > moved[1]);
  CHECK(moved[total] == 0.0);  // t = T + 1: the rate has reached 0
  CHECK(moved[total + 1] == 0.0);
  Tensor w = leaf({1.0}, {1});
  SGD sgd({{{{"w", w}}, 0.1, 2}});
  sum(w).backward();
  CHECK_THROWS_WITH_AS(sgd.step(), doctest::Contains("SGD: cosine_steps is Adam's"), Error);
}

TEST_CASE("parameter groups keep their own learning rates; parameters without a gradient are skipped") {
  Tensor a = leaf({1.0}, {1}), b = leaf({1.0}, {1}), c = leaf({1.0}, {1});
  SGD sgd({{{{"a", a}}, 0.1}, {{{"b", b}, {"c", c}}, 0.5}});
  sum(a + b).backward();  // c gets no gradient
  sgd.step();
  CHECK(vals(a)[0] == doctest::Approx(0.9));
  CHECK(vals(b)[0] == doctest::Approx(0.5));
  CHECK(vals(c)[0] == 1.0);
}

TEST_CASE("optimizer state: named per parameter, round-trips, and a bad checkpoint is refused untouched") {
  Tensor w = leaf({1.0, 2.0}, {2});
  Adam adam({{{{"main.0.weight", w}}, 0.01}});
  sum(w * w).backward();
  adam.step();
  const std::vector<NamedTensor> state = adam.state_dict();
  REQUIRE(state.size() == 3);
  CHECK(state[0].name == "main.0.weight.exp_avg");
  CHECK(state[1].name == "main.0.weight.exp_avg_sq");
  CHECK(state[2].name == "main.0.weight.step");
  CHECK(state[2].tensor.item() == 1.0);

  // Continuing from a restored state gives the same next step as continuing directly.
  Tensor w2 = leaf(vals(w), {2});
  Adam restored({{{{"main.0.weight", w2}}, 0.01}});
  restored.load_state_dict(state);
  for (auto* pair : {&adam, &restored}) pair->zero_grad();
  sum(w * w).backward();
  sum(w2 * w2).backward();
  adam.step();
  restored.step();
  CHECK(vals(w) == vals(w2));

  CHECK_THROWS_WITH_AS(restored.load_state_dict({{"other.exp_avg", zeros({2}, DType::Float64)}}),
                       doctest::Contains("no parameter named 'other'"), Error);
  CHECK_THROWS_WITH_AS(restored.load_state_dict({{"main.0.weight.exp_avg", zeros({3}, DType::Float64)}}),
                       doctest::Contains("expected [2] float64, got [3]"), Error);
  CHECK(restored.state_dict().size() == 3);  // unchanged by the refused loads
}

namespace {

// The state names ("exp_avg", ...) that `optimizer` holds for parameter `param`, in order.
std::vector<std::string> kinds_held(const Optimizer& optimizer, const std::string& param) {
  std::vector<std::string> kinds;
  for (const NamedTensor& s : optimizer.state_dict()) {
    if (s.name.rfind(param + ".", 0) == 0) kinds.push_back(s.name.substr(param.size() + 1));
  }
  return kinds;
}

// `state` without the entry called `name`.
std::vector<NamedTensor> without(std::vector<NamedTensor> state, const std::string& name) {
  const auto it = std::find_if(state.begin(), state.end(), [&](const NamedTensor& s) { return s.name == name; });
  REQUIRE(it != state.end());
  state.erase(it);
  return state;
}

}  // namespace

TEST_CASE("state_names() are the states that step() creates, in each configuration") {
  for (const double momentum : {0.0, 0.9}) {
    Tensor w = leaf({1.0, 2.0}, {2});
    SGD sgd({{{{"w", w}}, 0.1}}, momentum);
    sum(w * w).backward();
    sgd.step();
    CHECK(kinds_held(sgd, "w") == sgd.state_names());
  }
  CHECK(SGD({{{{"w", leaf({1.0}, {1})}}, 0.1}}).state_names().empty());
  Tensor w = leaf({1.0, 2.0}, {2});
  Adam adam({{{{"w", w}}, 0.1}});
  sum(w * w).backward();
  adam.step();
  CHECK(kinds_held(adam, "w") == adam.state_names());
  CHECK(adam.state_names() == std::vector<std::string>{"exp_avg", "exp_avg_sq", "step"});
}

TEST_CASE("optimizer state is all or nothing: partial, foreign or repeated state is refused untouched") {
  Tensor w = leaf({1.0, 2.0}, {2}), b = leaf({0.5}, {1});
  Adam adam({{{{"main.0.weight", w}, {"main.0.bias", b}}, 0.01}});
  sum(w * w).backward();
  sum(b * b).backward();
  adam.step();
  const std::vector<NamedTensor> full = adam.state_dict();
  REQUIRE(full.size() == 6);

  Tensor w2 = leaf(vals(w), {2}), b2 = leaf(vals(b), {1});
  Adam restored({{{{"main.0.weight", w2}, {"main.0.bias", b2}}, 0.01}});
  restored.load_state_dict(full);
  REQUIRE(restored.state_dict().size() == 6);

  std::vector<NamedTensor> foreign = full;
  foreign.push_back({"main.0.weight.momentum_buffer", zeros({2}, DType::Float64)});
  CHECK_THROWS_WITH_AS(restored.load_state_dict(foreign),
                       "optimizer state: parameter 'main.0.weight' has an unexpected 'momentum_buffer' (this optimizer "
                       "keeps exp_avg, exp_avg_sq, step)",
                       Error);
  std::vector<NamedTensor> repeated = full;
  repeated.push_back({"main.0.weight.exp_avg", zeros({2}, DType::Float64)});
  CHECK_THROWS_WITH_AS(restored.load_state_dict(repeated), "optimizer state: 'main.0.weight.exp_avg' is given twice",
                       Error);
  CHECK_THROWS_WITH_AS(restored.load_state_dict(without(full, "main.0.weight.exp_avg")),
                       "optimizer state: parameter 'main.0.weight' has no 'exp_avg'", Error);
  CHECK_THROWS_WITH_AS(restored.load_state_dict(without(full, "main.0.bias.step")),
                       "optimizer state: parameter 'main.0.bias' has no 'step'", Error);
  const std::vector<NamedTensor> weight_only = {full[0], full[1], full[2]};
  REQUIRE(weight_only[2].name == "main.0.weight.step");
  CHECK_THROWS_WITH_AS(restored.load_state_dict(weight_only),
                       "optimizer state: parameter 'main.0.bias' has none, although others have theirs (the state is "
                       "all or nothing)",
                       Error);
  // SGD without momentum keeps nothing, so any state is foreign to it.
  SGD plain({{{{"main.0.weight", w2}}, 0.1}});
  CHECK_THROWS_WITH_AS(plain.load_state_dict({{"main.0.weight.step", scalar_tensor(1, DType::Int64)}}),
                       "optimizer state: parameter 'main.0.weight' has an unexpected 'step' (this optimizer keeps no "
                       "state)",
                       Error);

  // Every refused load left the restored state as it was.
  const std::vector<NamedTensor> after = restored.state_dict();
  REQUIRE(after.size() == full.size());
  for (size_t i = 0; i < full.size(); ++i) {
    CHECK(after[i].name == full[i].name);
    CHECK(vals(after[i].tensor) == vals(full[i].tensor));
  }
  // An empty state (a checkpoint of an optimizer that never stepped) loads, and clears it.
  restored.load_state_dict({});
  CHECK(restored.state_dict().empty());
}

TEST_CASE("optimizer errors name what is wrong") {
  Tensor plain = f64({1.0});
  CHECK_THROWS_WITH_AS(SGD({{{{"x", plain}}, 0.1}}), doctest::Contains("parameter 'x' must be a tensor that requires grad"),
                       Error);
  Tensor p = leaf({1.0}, {1});
  CHECK_THROWS_WITH_AS(Adam({{{{"p", p}}, 0.1}}, 1.0), doctest::Contains("betas must be in [0, 1)"), Error);
  CHECK_THROWS_WITH_AS(SGD({{{{"p", p}}, -1.0}}), doctest::Contains("learning rate must be >= 0"), Error);
}
