// weight_average.h — an exponential moving average of a generator's weights
// (--ema of the GAN family and InfoGAN), which the grids, eval and sample
// read instead of G: the average of the last updates is smoother than any
// one of them.
//
//   average = decay_t * average + (1 - decay_t) * G     after G's update t
//   decay_t = min(decay, (1 + t) / (10 + t))            ramped up, so that
//                                                       early averages are
//                                                       not the initial weights
//
// BatchNorm's running statistics are copied from G, not averaged: they
// belong to the weights in use, and G's are the freshest estimate.
#pragma once

#include <cstdint>
#include <vector>

#include "nn/module.h"

namespace dl {

// decay_t of the t-th update (t from 0).
double ema_decay_at(double decay, int64_t update);

// Appends decay_t and 1 - decay_t of the next update (`updates`, which it
// counts) to a step's inputs, as 0-dim tensors on `device`: what
// update_weight_average reads inside a step replayed from a CUDA graph.
void append_ema_inputs(std::vector<Tensor>& inputs, double decay, int64_t& updates, Device device);

// average <- G's parameters and buffers (the start of the average).
void copy_weights(Module& average, const Module& model);

// The update above, with decay_t and 1 - decay_t as 0-dim tensors on the
// device (inputs of a step replayed from a CUDA graph, so that a replay
// reads this update's); without autograd.
void update_weight_average(Module& average, const Module& model, const Tensor& decay, const Tensor& rest);

}  // namespace dl
