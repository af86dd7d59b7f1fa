// test_spec_networks.cpp — apps/common/spec_networks: the spec's networks
// have PyTorch's parameter names, counts and output shapes, the grid
// input has the spec's layout, and the noise its distribution.
#include <algorithm>
#include <cmath>

#include "common/spec_networks.h"
#include "doctest/doctest.h"
#include "helpers.h"

using namespace dl;
using namespace test;

TEST_CASE("InfoGAN discriminator: PyTorch's state_dict names and parameter count") {
  // PyTorch 1.13, the spec's Discriminator with Q head (n_cat 10, n_cont 0):
  // 23 state_dict entries, 1773067 parameters; with n_cont 2: 1773583.
  InfoGanDiscriminator d;
  std::vector<std::string> names;
  for (const NamedTensor& t : d.state_dict()) names.push_back(t.name);
  CHECK(names == std::vector<std::string>{
                     "main.0.weight", "main.2.weight", "main.3.weight", "main.3.bias", "main.3.running_mean",
                     "main.3.running_var", "main.3.num_batches_tracked", "main.5.weight", "main.6.weight",
                     "main.6.bias", "main.6.running_mean", "main.6.running_var", "main.6.num_batches_tracked",
                     "D.0.weight", "D.0.bias", "Q.0.weight", "Q.1.weight", "Q.1.bias", "Q.1.running_mean",
                     "Q.1.running_var", "Q.1.num_batches_tracked", "Q.3.weight", "Q.3.bias"});
  CHECK(d.parameter_count() == 1773067);
  CHECK(InfoGanDiscriminator({54, 10, 2}).parameter_count() == 1773583);
}

TEST_CASE("InfoGAN generator and discriminator: shapes through both, with and without continuous codes") {
  for (int64_t n_cont : {0, 2}) {
    CAPTURE(n_cont);
    const LatentShape shape{54, 10, n_cont};
    SpecGenerator g(shape);
    InfoGanDiscriminator d(shape);
    CHECK(g.parameter_count() == 2984064 + 512 * n_cont);  // PyTorch: 2984064 for input 64
    const Tensor images = g(randn({3, shape.input(), 1, 1}));
    CHECK(images.shape() == Shape{3, 1, 28, 28});
    const InfoGanDiscriminator::Heads heads = d.heads(images);
    CHECK(heads.real.shape() == Shape{3});
    CHECK(heads.cat_logits.shape() == Shape{3, 10});
    CHECK(heads.cont_mean.shape() == Shape{3, n_cont});
    CHECK(heads.cont_log_std.shape() == Shape{3, n_cont});
  }
  InfoGanDiscriminator d;
  CHECK_THROWS_WITH_AS(d.heads(zeros({2, 1, 32, 32})), doctest::Contains("expected images [N, 1, 28, 28]"), Error);
}

TEST_CASE("grid_input: row r is noise r, column c is code c, continuous codes 0") {
  Generator gen(4);
  const LatentShape shape{54, 10, 2};
  const Tensor z = grid_input(shape, gen).reshape({10, 10, 66});
  for (int64_t r : {0, 7}) {
    for (int64_t c : {0, 3, 9}) {
      CHECK(vals(z.select(0, r).select(0, c).narrow(0, 0, 54)) == vals(z.select(0, r).select(0, 0).narrow(0, 0, 54)));
      Values code(10, 0.0);
      code[c] = 1.0;
      CHECK(vals(z.select(0, r).select(0, c).narrow(0, 54, 10)) == code);
      CHECK(vals(z.select(0, r).select(0, c).narrow(0, 64, 2)) == Values{0.0, 0.0});
    }
  }
  CHECK(vals(z.select(0, 0).select(0, 0).narrow(0, 0, 54)) != vals(z.select(0, 1).select(0, 0).narrow(0, 0, 54)));
}

TEST_CASE("draw_noise: N(0, 1) by default, U(-1, 1) with uniform_noise") {
  LatentShape shape{54, 10, 0};
  Generator normal_gen(5), uniform_gen(5);
  const Values normal = vals(draw_noise(shape, 200, normal_gen));
  shape.uniform_noise = true;
  const Values drawn = vals(draw_noise(shape, 200, uniform_gen));
  REQUIRE(drawn.size() == 200 * 54);
  double sum = 0, sum_sq = 0, normal_max = 0;
  for (const double v : drawn) {
    CHECK(v >= -1.0);
    CHECK(v < 1.0);
    sum += v;
    sum_sq += v * v;
  }
  for (const double v : normal) normal_max = std::max(normal_max, std::abs(v));
  // U(-1, 1): mean 0, variance 1/3; 10,800 draws put both within a few
  // standard errors (0.006 and 0.003).
  CHECK(std::abs(sum / drawn.size()) < 0.03);
  CHECK(std::abs(sum_sq / drawn.size() - 1.0 / 3.0) < 0.02);
  CHECK(normal_max > 2.5);  // N(0, 1) over 10,800 draws leaves [-1, 1]
  Generator grid_gen(5);
  const Values grid_noise = vals(grid_input(shape, grid_gen).reshape({100, 64}).narrow(1, 0, 54));
  CHECK(*std::min_element(grid_noise.begin(), grid_noise.end()) >= -1.0);
  CHECK(*std::max_element(grid_noise.begin(), grid_noise.end()) < 1.0);
}
