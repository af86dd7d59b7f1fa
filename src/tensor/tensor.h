// tensor.h — the Tensor handle: a typed, strided view over shared storage,
// plus the autograd fields (requires_grad, grad, grad_fn).
//
// Tensor is a cheap handle (a shared_ptr to TensorImpl); copying a Tensor
// copies the handle, not the data, exactly like `b = a` in PyTorch. Views
// (reshape, permute, slice, expand, ...) make a new TensorImpl over the same
// Storage. The ops themselves are free functions declared in ops/ops.h; the
// methods here that look like ops are thin forwards to them.
//
// Layers (docs/README.md): this header includes nothing above tensor/, yet
// some of its methods belong to the layers above and are defined there, as
// ATen declares Tensor's methods and implements them with its operators.
// The views and copies record graph Nodes and the in-place writes consult
// grad mode, so ops/view.cpp and ops/inplace.cpp define them; backward()
// walks the graph (autograd/engine.cpp); str() names the grad_fn
// (graph/print.cpp). Keeping them methods keeps x.reshape(...) and
// loss.backward() spelt as in PyTorch. Those calls, including the ones
// tensor/ makes itself (to() in create.cpp and to_vector, views in
// backend.cpp), go upward at link time only: an include never goes upward.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tensor/device.h"
#include "tensor/dtype.h"
#include "tensor/shape.h"

namespace dl {

struct Node;  // graph/node.h

// A block of device memory shared by a tensor and all its views. The version
// counter is bumped by every in-place write; autograd checks it to detect
// that a tensor saved for backward was overwritten (SavedTensor, graph/node.h).
class Storage {
 public:
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  uint64_t version_ = 0;
};

class Tensor;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;       // in elements
  int64_t offset = 0;  // in elements, into storage
  DType dtype = DType::Float32;

  // Autograd. A leaf is a tensor with no grad_fn; if it requires grad,
  // backward() accumulates into `grad`. A non-leaf that requires grad has the
  // Node that made it as grad_fn.
  bool requires_grad = false;
  std::shared_ptr<Tensor> grad;
  std::shared_ptr<Node> grad_fn;
  // Set when a non-differentiable op (argmax, comparisons, ...) consumed an
  // input that requires grad, so backward() can say why there is no graph.
  const char* made_by_non_differentiable_op = nullptr;
};

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor: no storage; defined() is false
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // An uninitialised contiguous tensor; the creation functions below fill it.
  static Tensor empty(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  int64_t offset() const { return impl().offset; }
  int64_t dim() const { return static_cast<int64_t>(impl().shape.size()); }
  int64_t size(int64_t dim) const;  // negative dims count from the end
  int64_t numel() const { return shape_numel(impl().shape); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return impl().storage; }
  TensorImpl& impl() const;
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }

  // Pointer to the first element (storage + offset). CPU only; T must match
  // the dtype. Index with the strides unless is_contiguous().
  template <typename T> T* data() const;
  void* raw_data() const;

  // The single value of a one-element tensor, converted to double.
  double item() const;
  // Copies the values out in row-major order (any layout, any dtype -> T).
  template <typename T> std::vector<T> to_vector() const;

  // ---- autograd -----------------------------------------------------------
  bool requires_grad() const { return impl().requires_grad; }
  // Only leaves of a floating dtype can be marked; returns *this for chaining.
  Tensor& set_requires_grad(bool requires_grad);
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  const std::shared_ptr<Node>& grad_fn() const { return impl().grad_fn; }
  // The accumulated gradient of a leaf; undefined until a backward reaches it.
  Tensor grad() const;
  void set_grad(const Tensor& grad) const;
  void zero_grad() const;  // drops the gradient (grad() becomes undefined)
  // Reverse-mode differentiation from this tensor (autograd/engine.cpp).
  // `gradient` may be omitted for a one-element tensor (it is then 1). With
  // create_graph the backward pass is recorded (and the graph retained), so
  // the .grad it leaves can be differentiated again. Such a .grad refers back
  // to its leaf through its graph, a reference cycle until zero_grad() (as
  // in PyTorch); grad() (autograd/grad.h) returns the gradients instead.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false, bool create_graph = false) const;
  // A tensor sharing this one's storage but cut off from the graph.
  Tensor detach() const;

  // ---- views (no copy; differentiable; defined in ops/view.cpp) -------------
  Tensor view(const Shape& shape) const;     // must be expressible with strides
  Tensor reshape(const Shape& shape) const;  // view when possible, else a copy
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor t() const;  // transpose of a 2-D tensor
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor select(int64_t dim, int64_t index) const;  // drops `dim`
  Tensor expand(const Shape& shape) const;         // size-1 dims repeat (stride 0)
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze(int64_t dim) const;
  Tensor squeeze() const;  // all size-1 dims
  Tensor contiguous() const;

  // ---- copies and conversions (defined in ops/view.cpp) --------------------
  Tensor clone() const;
  Tensor to(DType dtype) const;  // differentiable between float32 and float64
  // A copy on `device` (this tensor itself if it is there already);
  // differentiable: the gradient flows back to this tensor's device.
  Tensor to(Device device) const;

  // ---- in-place (not differentiable; refused on tensors in a graph;
  //      defined in ops/inplace.cpp) ------------------------------------------
  Tensor& copy_(const Tensor& src);  // broadcasts src, converts dtype
  Tensor& fill_(double value);
  Tensor& zero_();
  Tensor& add_(const Tensor& other, double alpha = 1.0);  // this += alpha * other
  Tensor& mul_(const Tensor& other);
  Tensor& mul_(double value);

  // Like PyTorch's repr: the values by tensor/print.cpp, finished by
  // graph/print.cpp, which can name the grad_fn's Node.
  std::string str() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& tensor);

// A tensor with its state_dict-style name ("main.0.weight"): what modules
// list and checkpoints store.
struct NamedTensor {
  std::string name;
  Tensor tensor;
};

// A raw view: `base`'s storage seen with a new shape, strides and offset
// (in elements), with no autograd bookkeeping. The building block of every
// view; user code calls the differentiable Tensor methods instead.
Tensor as_strided_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset);

// ---- creation (tensor/create.cpp) -------------------------------------------
Tensor zeros(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());
Tensor ones(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());
Tensor full(const Shape& shape, double value, DType dtype = DType::Float32, Device device = Device::cpu());
Tensor zeros_like(const Tensor& like);
Tensor ones_like(const Tensor& like);
Tensor full_like(const Tensor& like, double value);
// A 0-dim tensor holding one value.
Tensor scalar_tensor(double value, DType dtype = DType::Float32, Device device = Device::cpu());
// [start, end) in steps; like torch.arange, the length is ceil((end-start)/step).
Tensor arange(double start, double end, double step = 1.0, DType dtype = DType::Int64,
              Device device = Device::cpu());
Tensor arange(int64_t end, DType dtype = DType::Int64, Device device = Device::cpu());
// Copies numel(shape) elements of `dtype` from a host buffer, row-major.
Tensor from_host(const void* data, const Shape& shape, DType dtype, Device device = Device::cpu());
// tensor({1, 2, 3, 4}, {2, 2}) — values given as doubles, converted to dtype.
// An empty shape means a 1-D tensor of values.size() elements.
Tensor tensor(const std::vector<double>& values, const Shape& shape = {}, DType dtype = DType::Float32,
              Device device = Device::cpu());

// ---- random numbers from a counter-based generator (tensor/random.cpp) -----
// Philox-4x32-10: element i of a draw is a pure function of (seed, offset, i),
// so the CPU and a GPU kernel produce the same numbers (bit for bit for
// uniform float32; normal within rounding of the last bit). Each draw
// advances the generator's offset by one.
struct Generator {
  uint64_t seed = 0;
  uint64_t offset = 0;
  explicit Generator(uint64_t seed_ = 0) : seed(seed_) {}
};
Generator& default_generator();
void manual_seed(uint64_t seed);  // reseeds the default generator

Tensor rand(const Shape& shape, DType dtype = DType::Float32, Generator* generator = nullptr,
            Device device = Device::cpu());  // U[0, 1)
Tensor randn(const Shape& shape, DType dtype = DType::Float32, Generator* generator = nullptr,
             Device device = Device::cpu());  // N(0, 1)
Tensor uniform(const Shape& shape, double low, double high, DType dtype = DType::Float32,
               Generator* generator = nullptr, Device device = Device::cpu());

// ---- templates --------------------------------------------------------------
template <typename T>
T* Tensor::data() const {
  check(dtype_of<T>() == dtype(), "data<T>: tensor has dtype ", dtype(), ", requested ", dtype_of<T>());
  return static_cast<T*>(raw_data());
}

}  // namespace dl
