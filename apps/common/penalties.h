// penalties.h — gradient penalties on a discriminator: losses made of the
// gradient of its output with respect to its input, built with
// create_graph (autograd/grad.h) so that minimising them differentiates the
// gradient again (docs/autograd.md, "Gradients of gradients").
//
//   R1 (Mescheder et al. 2018), on real images x:
//     R1 = gamma / 2 * mean_i ||d logit(x)_i / d x_i||^2
//   WGAN-GP (Gulrajani et al. 2017), on x^ = e x + (1 - e) G(z), e ~ U[0, 1]
//   per sample:
//     GP = mean_i (||d score(x^)_i / d x^_i|| - 1)^2        (weighted by lambda = 10)
//
// The gradient is that of sum_i output_i, so with BatchNorm in the
// discriminator (training mode) sample i's gradient also holds what the
// other samples' outputs owe to x_i through the batch statistics, as in
// the reference implementations.
#pragma once

#include <string>
#include <vector>

#include "common/config_table.h"
#include "tensor/tensor.h"

namespace dl {

// A detached alias of `images` that requires grad: the input a penalty
// differentiates the discriminator by (the real batch for R1, the
// interpolates for WGAN-GP).
Tensor penalty_input(const Tensor& images);

// Per sample i, ||d(sum_j outputs_j) / d inputs_i||^2: [N]. `outputs` [N]
// were computed from `inputs` [N, ...], which require grad; the result
// carries a graph through the gradient.
Tensor input_gradient_sq_norm(const Tensor& outputs, const Tensor& inputs);

// mean_i ||d logits_i / d real_i||^2, R1 without its gamma / 2.
Tensor r1_penalty(const Tensor& logits, const Tensor& real);

// mean_i (||d scores_i / d mixed_i|| - 1)^2, WGAN-GP without its lambda.
Tensor wgan_gradient_penalty(const Tensor& scores, const Tensor& mixed);

// --r1 and --r1-every, as the InfoGAN and GAN-family configs declare them.
// Configs without R1 stay as they were before the flags existed.
std::vector<ConfigEntry> r1_config_entries(double* gamma, int64_t* every);

// Whether the D step of iteration `iteration` (counted over the run from 0)
// adds R1: with gamma > 0, every iteration, or "lazily" every `every`-th.
bool r1_due(double gamma, int64_t every, int64_t iteration);
// The weight of r1_penalty() in the D loss where it is added: gamma / 2 *
// every, so that the lazy penalty's average weight is gamma / 2 (as
// StyleGAN2 does).
double r1_weight(double gamma, int64_t every);

}  // namespace dl
