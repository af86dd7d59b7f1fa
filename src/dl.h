// dl.h — everything a program needs: tensors, ops, autograd.
#pragma once

#include "autograd/dot.h"
#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "ops/ops.h"
#include "tensor/backend.h"
#include "tensor/tensor.h"
