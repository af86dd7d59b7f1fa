// test_penalties.cpp — the gradient penalties of apps/common/penalties.h,
// against closed forms on a linear critic (whose input gradient is its
// weight), by gradcheck on a nonlinear one, and the R1 schedule; then that
// --r1 reaches the D step of InfoGAN and of the GAN family exactly on the
// iterations it is due.
#include "common/gan_family.h"
#include "common/infogan.h"
#include "common/penalties.h"
#include "dl.h"
#include "doctest/doctest.h"
#include "helpers.h"

using namespace dl;

namespace {

// Scores of a linear critic s_i = <w, x_i> + b on x [N, 2, 3]: ds_i/dx_i = w.
Tensor linear_scores(const Tensor& x, const Tensor& w, double b) { return sum(x * w.unsqueeze(0), {1, 2}) + b; }

// Scores of a small nonlinear critic on x [N, 3]: s_i = sum_j tanh((x_i W)_j).
Tensor tanh_scores(const Tensor& x, const Tensor& W) { return sum(tanh(matmul(x, W)), {1}); }

}  // namespace

TEST_CASE("penalties on a linear critic: the input gradient is w, so R1 = |w|^2 and GP = (|w| - 1)^2, and their w-gradients") {
  const Tensor w = test::leaf({0.5, -1.0, 2.0, 0.0, 1.5, -0.5}, {2, 3});
  const double norm_sq = 0.25 + 1 + 4 + 0 + 2.25 + 0.25;  // 7.75
  const double norm = std::sqrt(norm_sq);
  const Tensor x = test::randn_leaf({4, 2, 3}, 5);
  test::check_values(input_gradient_sq_norm(linear_scores(x, w, 0.3), x), {4}, {norm_sq, norm_sq, norm_sq, norm_sq},
                     1e-12);

  const Tensor r1 = r1_penalty(linear_scores(x, w, 0.3), x);
  CHECK(r1.item() == doctest::Approx(norm_sq).epsilon(1e-12));
  r1.backward();  // d|w|^2/dw = 2 w: the penalty's gradient went through the input gradient
  test::check_values(w.grad(), {2, 3}, {1.0, -2.0, 4.0, 0.0, 3.0, -1.0}, 1e-12);

  w.zero_grad();
  const Tensor gp = wgan_gradient_penalty(linear_scores(x, w, 0.3), x);
  CHECK(gp.item() == doctest::Approx((norm - 1) * (norm - 1)).epsilon(1e-9));
  gp.backward();  // d(|w| - 1)^2/dw = 2 (|w| - 1) w / |w|
  const double scale = 2 * (norm - 1) / norm;
  test::check_values(w.grad(), {2, 3}, {0.5 * scale, -scale, 2 * scale, 0.0, 1.5 * scale, -0.5 * scale}, 1e-9);
}

TEST_CASE("penalties on a nonlinear critic: gradcheck of R1 and GP in the critic's weights and the inputs") {
  const Tensor x = test::randn_leaf({5, 3}, 7);
  const Tensor W = test::randn_leaf({3, 4}, 8);
  // A penalty is a backward pass, so grad mode stays on inside fn also where
  // gradcheck evaluates it for its finite differences (as gradgradcheck does).
  test::check_gradcheck(
      [](const TensorList& in) {
        const EnableGradGuard grad_mode(true);
        return r1_penalty(tanh_scores(in[0], in[1]), in[0]);
      },
      {x, W}, "r1_penalty");
  test::check_gradcheck(
      [](const TensorList& in) {
        const EnableGradGuard grad_mode(true);
        return wgan_gradient_penalty(tanh_scores(in[0], in[1]), in[0]);
      },
      {x, W}, "wgan_gradient_penalty");
}

TEST_CASE("penalties refuse inputs that do not require grad, and outputs that are not one per sample") {
  const Tensor x = test::randn64({4, 3}, 1);
  CHECK_THROWS_WITH_AS(r1_penalty(sum(x, {1}), x), doctest::Contains("the inputs must require grad"), Error);
  const Tensor y = test::randn_leaf({4, 3}, 2);
  CHECK_THROWS_WITH_AS(r1_penalty(y, y), doctest::Contains("expected outputs [N] of inputs [N, ...]"), Error);
}

TEST_CASE("r1_due and r1_weight: every iteration, lazily every k-th at k times the weight, or never") {
  CHECK(r1_due(10, 1, 0));
  CHECK(r1_due(10, 1, 7));
  CHECK(r1_due(10, 4, 8));
  CHECK_FALSE(r1_due(10, 4, 9));
  CHECK_FALSE(r1_due(0, 1, 0));
  CHECK(r1_weight(10, 1) == 5);
  CHECK(r1_weight(10, 4) == 20);
}

namespace {

// D's parameters after one step of `model` at `iteration` on a fixed batch.
template <typename Model>
std::vector<std::vector<float>> d_after_step(Model& model, int64_t iteration) {
  Generator rng(11);
  const Tensor real = rand({4, 1, 28, 28}, DType::Float32, &rng);
  const Tensor labels = from_host(std::vector<int64_t>{1, 2, 3, 4}.data(), {4}, DType::Int64);
  model.train_step(Batch{real, labels}, StepClock{0, iteration, 100});
  std::vector<std::vector<float>> values;
  for (const NamedTensor& p : model.D->named_parameters()) values.push_back(p.tensor.template to_vector<float>());
  return values;
}

template <typename Model, typename Config>
void check_r1_reaches_d(const Config& plain_config) {
  Config lazy_config = plain_config;
  lazy_config.r1 = 10;
  lazy_config.r1_every = 2;
  // Not due at iteration 1: the same update as without R1.
  Model plain(plain_config, Device::cpu()), lazy(lazy_config, Device::cpu());
  CHECK(d_after_step(plain, 1) == d_after_step(lazy, 1));
  // Due at iteration 2: another update.
  Model plain2(plain_config, Device::cpu()), lazy2(lazy_config, Device::cpu());
  CHECK(d_after_step(plain2, 2) != d_after_step(lazy2, 2));
}

}  // namespace

TEST_CASE("--r1 reaches the D step of InfoGAN and of dcgan exactly on its due iterations") {
  SUBCASE("infogan") { check_r1_reaches_d<InfoGan>(infogan_preset("lab")); }
  SUBCASE("dcgan") { check_r1_reaches_d<GanModel>(gan_defaults("dcgan")); }
}

TEST_CASE("--r1 is in a config's JSON only when set, and wgan has none of the BCE variants' keys") {
  const std::string dcgan = to_json(gan_defaults("dcgan").to_json());
  CHECK(dcgan.find("r1") == std::string::npos);
  CHECK(dcgan.find("gp_lambda") == std::string::npos);
  GanConfig with_r1 = gan_defaults("dcgan");
  with_r1.r1 = 2.5;
  with_r1.r1_every = 4;
  const GanConfig back = GanConfig::from_json(to_json(with_r1.to_json()), "t");
  CHECK(back.r1 == 2.5);
  CHECK(back.r1_every == 4);
  InfoGanConfig info = infogan_preset("best");
  CHECK(to_json(info.to_json()).find("r1") == std::string::npos);
  info.r1 = 1;
  CHECK(InfoGanConfig::from_json(to_json(info.to_json()), "t").r1 == 1);

  const std::string wgan = to_json(gan_defaults("wgan").to_json());
  for (const char* key : {"\"g_loss\"", "\"real_label\"", "\"lambda_class\"", "\"r1\""}) {
    CAPTURE(key);
    CHECK(wgan.find(key) == std::string::npos);
  }
  CHECK(wgan.find("\"gp_lambda\":10") != std::string::npos);
  CHECK(wgan.find("\"critic_steps\":5") != std::string::npos);
  CHECK_THROWS_WITH_AS(GanConfig::from_json("{\"variant\": \"wgan\", \"r1\": 1}", "f"),
                       "f: unknown config key 'r1'", Error);
  CHECK_THROWS_WITH_AS(GanConfig::from_json("{\"variant\": \"dcgan\", \"gp_lambda\": 1}", "f"),
                       "f: unknown config key 'gp_lambda'", Error);
}
