//===- DLPack.cpp - Results of compiled code as DLPack tensors ------------===//
//
// Hosts such as PyTorch take device memory they do not own through DLPack
// (torch.from_dlpack): a DLManagedTensor describes the buffer and carries a
// deleter that the host calls when its last tensor on the buffer dies. The
// views here are recycled, so wrapping a call's results allocates nothing,
// and the deleter gives the memory back with qat_cuda_free (to the
// runtime's cache in the stream-ordered mode) without the host's
// interpreter. Needs no CUDA header: the structs are DLPack's C ABI
// (dlpack.h, the unversioned DLManagedTensor of DLPack 0.8, which hosts
// accept as a "dltensor" capsule).
//
//===----------------------------------------------------------------------===//

#include "qat/Runtime/CUDARuntime.h"

#include <cstdint>
#include <mutex>
#include <vector>

namespace {

// dlpack.h, version 0.8.
struct DLDevice {
  int32_t device_type; // DLDeviceType: 1 CPU, 2 CUDA
  int32_t device_id;
};
struct DLDataType {
  uint8_t code; // DLDataTypeCode: 0 int, 1 uint, 2 float, 4 bfloat, 6 bool
  uint8_t bits;
  uint16_t lanes;
};
struct DLTensor {
  void *data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t *shape;
  int64_t *strides;
  uint64_t byte_offset;
};
struct DLManagedTensor {
  DLTensor dl_tensor;
  void *manager_ctx;
  void (*deleter)(DLManagedTensor *self);
};

constexpr int kMaxRank = 8;

/// One result handed to the host; `tensor` comes first, so a pointer to it
/// is a pointer to the view.
struct View {
  DLManagedTensor tensor;
  int64_t shape[kMaxRank];
  int64_t strides[kMaxRank];
  void *allocated;
  void (*release)(void *);
};

/// Views the host has given back, for the next results.
struct Views {
  std::mutex mutex;
  std::vector<View *> spare;
};

Views &views() {
  // Never destroyed: hosts may free tensors while the process exits.
  static Views *instance = new Views;
  return *instance;
}

View *takeView() {
  Views &v = views();
  {
    std::lock_guard<std::mutex> lock(v.mutex);
    if (!v.spare.empty()) {
      View *view = v.spare.back();
      v.spare.pop_back();
      return view;
    }
  }
  return new View;
}

void deleteView(DLManagedTensor *tensor) {
  View *view = static_cast<View *>(tensor->manager_ctx);
  view->release(view->allocated);
  Views &v = views();
  std::lock_guard<std::mutex> lock(v.mutex);
  v.spare.push_back(view);
}

} // namespace

int qat_dlpack_results(const qat_dlpack_plan *plan) {
  // A memref descriptor: allocated, aligned, offset, sizes[rank],
  // strides[rank], all 8 bytes; a struct of them has no padding.
  const int64_t *field = static_cast<const int64_t *>(plan->descriptors);
  for (int i = 0; i < plan->count; ++i) {
    int32_t rank = plan->layout[3 * i];
    if (rank < 0 || rank > kMaxRank)
      return 1;
    void *allocated = reinterpret_cast<void *>(field[0]);
    char *aligned = reinterpret_cast<char *>(field[1]);
    int64_t offset = field[2];
    const int64_t *sizes = field + 3, *strides = field + 3 + rank;
    field += 3 + 2 * rank;
    plan->tensors[i] = nullptr;
    bool isArgument = false;
    for (int a = 0; a < plan->argumentCount; ++a)
      isArgument |=
          *static_cast<void *const *>(plan->arguments[a]) == allocated;
    if (isArgument)
      continue;
    View *view = takeView();
    DLTensor &t = view->tensor.dl_tensor;
    DLDataType dtype{static_cast<uint8_t>(plan->layout[3 * i + 1]),
                     static_cast<uint8_t>(plan->layout[3 * i + 2]), 1};
    t.data = aligned + offset * ((dtype.bits + 7) / 8);
    t.device = {plan->deviceType, plan->deviceId};
    t.ndim = rank;
    t.dtype = dtype;
    for (int d = 0; d < rank; ++d) {
      view->shape[d] = sizes[d];
      view->strides[d] = strides[d];
    }
    t.shape = view->shape;
    t.strides = view->strides;
    t.byte_offset = 0;
    view->tensor.manager_ctx = view;
    view->tensor.deleter = deleteView;
    view->allocated = allocated;
    view->release = plan->release;
    plan->tensors[i] = &view->tensor;
  }
  return 0;
}
