// graph.cu — CudaGraph (tensor/cuda_graph.h): stream capture of the
// backend's stream into a cudaGraph_t, instantiated once and launched per
// replay, with the allocator's graph pool around the capture.
#include <cstdio>

#include "tensor/cuda/common.cuh"
#include "tensor/cuda_graph.h"

namespace dl {

struct CudaGraph::Impl {
  CudaBackend* backend = nullptr;
  int pool = -1;
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
};

CudaGraph::CudaGraph(Device device) : impl_(std::make_unique<Impl>()) {
  check(device.is_cuda(), "CudaGraph: a CUDA device is needed, got ", device);
  impl_->backend = &cuda_backend(device);
}

CudaGraph::~CudaGraph() {
  if (impl_->pool < 0) return;
  // A destructor must not throw: a failing CUDA call here is reported, not raised.
  auto report = [](cudaError_t status, const char* what) {
    if (status != cudaSuccess) std::fprintf(stderr, "CudaGraph: %s failed: %s\n", what, cudaGetErrorString(status));
  };
  // The blocks of the pool go back to the allocator only once no replay can still be using them.
  report(cudaStreamSynchronize(impl_->backend->stream()), "cudaStreamSynchronize");
  if (impl_->exec) report(cudaGraphExecDestroy(impl_->exec), "cudaGraphExecDestroy");
  if (impl_->graph) report(cudaGraphDestroy(impl_->graph), "cudaGraphDestroy");
  impl_->backend->release_graph_pool(impl_->pool);
}

void CudaGraph::capture(const std::function<void()>& body) {
  check(impl_->pool < 0, "CudaGraph: capture() was already called for this graph");
  CudaBackend& backend = *impl_->backend;
  backend.activate();
  impl_->pool = backend.begin_graph_pool();
  // Relaxed: the allocator may still call cudaMalloc while capturing.
  DL_CUDA_CHECK(cudaStreamBeginCapture(backend.stream(), cudaStreamCaptureModeRelaxed));
  try {
    body();
  } catch (...) {
    cudaGraph_t partial = nullptr;
    cudaStreamEndCapture(backend.stream(), &partial);  // ends the capture; its status is the error we rethrow
    cudaGetLastError();
    if (partial) cudaGraphDestroy(partial);
    backend.end_graph_pool();
    throw;
  }
  backend.end_graph_pool();
  DL_CUDA_CHECK(cudaStreamEndCapture(backend.stream(), &impl_->graph));
  DL_CUDA_CHECK(cudaGraphInstantiate(&impl_->exec, impl_->graph, 0));
}

void CudaGraph::replay() {
  check(impl_->exec != nullptr, "CudaGraph: replay() before capture()");
  impl_->backend->activate();
  DL_CUDA_CHECK(cudaGraphLaunch(impl_->exec, impl_->backend->stream()));
}

bool CudaGraph::captured() const { return impl_->exec != nullptr; }

}  // namespace dl
