// dl.h — everything a program needs: tensors, ops, autograd, layers,
// optimizers, and the data and file formats.
#pragma once

#include "autograd/dot.h"
#include "autograd/grad.h"
#include "autograd/gradcheck.h"
#include "data/file.h"
#include "data/idx.h"
#include "data/loader.h"
#include "data/mnist.h"
#include "data/png.h"
#include "data/safetensors.h"
#include "graph/grad_mode.h"
#include "graph/node.h"
#include "nn/layers.h"
#include "nn/module.h"
#include "ops/ops.h"
#include "optim/optimizer.h"
#include "tensor/backend.h"
#include "tensor/cpu/thread_pool.h"  // set_num_threads, num_threads: the CPU kernels' threads
#include "tensor/cuda_graph.h"  // CudaGraph: record a step's kernels once, replay them
#include "tensor/tensor.h"
