//===- CHeader.cpp - C header for an ahead-of-time compiled entry -*- C++ -*-=//
//
// Mirrors what func-to-llvm's C interface (`llvm.emit_c_interface`) produces:
// memrefs are passed as pointers to descriptors, results returned through a
// pointer in the first parameter unless there is a single scalar result.
//
//===----------------------------------------------------------------------===//

#include "qat/Runner/CHeader.h"
#include "qat/Runner/OutputFile.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;
using namespace mlir::qat;
using llvm::createStringError;
using llvm::inconvertibleErrorCode;

static llvm::Error makeError(const Twine &message) {
  return createStringError(inconvertibleErrorCode(), message);
}

static std::string typeToString(Type type) {
  std::string result;
  llvm::raw_string_ostream os(result);
  os << type;
  return result;
}

/// The MLIR spelling of the element type, used in typedef names.
static StringRef getShortName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "f32";
  case DType::F64:
    return "f64";
  case DType::F16:
    return "f16";
  case DType::BF16:
    return "bf16";
  case DType::I1:
    return "i1";
  case DType::I8:
    return "i8";
  case DType::I16:
    return "i16";
  case DType::I32:
    return "i32";
  case DType::I64:
    return "i64";
  }
  llvm_unreachable("unknown dtype");
}

/// The C type of an element in memory. C has no portable 16-bit float, so
/// those are their bit patterns.
static StringRef getCType(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "float";
  case DType::F64:
    return "double";
  case DType::F16:
  case DType::BF16:
    return "uint16_t";
  case DType::I1:
    return "bool";
  case DType::I8:
    return "int8_t";
  case DType::I16:
    return "int16_t";
  case DType::I32:
    return "int32_t";
  case DType::I64:
    return "int64_t";
  }
  llvm_unreachable("unknown dtype");
}

static std::string getDescriptorName(const BoundaryValue &value) {
  return llvm::formatv("qat_memref_{0}d_{1}", value.getRank(),
                       getShortName(value.dtype))
      .str();
}

/// "[2, ?, 3]": the shape as the comment states it.
static std::string formatSizes(ArrayRef<int64_t> shape) {
  return "[" +
         llvm::join(llvm::map_range(shape,
                                    [](int64_t size) {
                                      return ShapedType::isDynamic(size)
                                                 ? std::string("?")
                                                 : std::to_string(size);
                                    }),
                    ", ") +
         "]";
}

static bool isCIdentifier(StringRef name) {
  return !name.empty() && (llvm::isAlpha(name[0]) || name[0] == '_') &&
         llvm::all_of(name,
                      [](char c) { return llvm::isAlnum(c) || c == '_'; });
}

/// How one value is declared and described.
static std::string describeValue(const BoundaryValue &value, bool inMemory,
                                 bool isResult) {
  if (value.isScalar) {
    std::string text = (getCType(value.dtype) + ", ").str();
    text += inMemory ? "a scalar" : "a scalar passed by value";
    if (value.dtype == DType::BF16)
      text += " (bfloat16 bits: the upper half of a float)";
    if (value.dtype == DType::F16)
      text += " (IEEE binary16 bits)";
    return text;
  }
  std::string text = getDescriptorName(value) + (inMemory ? "" : " *") +
                     ", shape " + formatSizes(value.shape);
  if (llvm::any_of(value.shape, ShapedType::isDynamic))
    text += isResult ? " (? = decided by the function: read sizes[])"
                     : " (? = any size, given in sizes[])";
  return text;
}

static void printDescriptorTypedef(llvm::raw_ostream &os,
                                   const BoundaryValue &value, bool cuda) {
  std::string name = getDescriptorName(value);
  std::string guard = StringRef(name).upper() + "_DEFINED";
  StringRef element = getCType(value.dtype);
  int64_t rank = value.getRank();
  os << "#ifndef " << guard << "\n#define " << guard << "\n";
  os << "/* A rank-" << rank << " memref of " << getShortName(value.dtype)
     << " as MLIR's LLVM lowering lays it out. */\n";
  os << "typedef struct " << name << " {\n";
  if (cuda)
    os << "  " << element
       << " *allocated; /* the allocation, in device memory: "
       << "what is freed */\n";
  else
    os << "  " << element << " *allocated; /* what malloc returned: free() "
       << "this */\n";
  os << "  " << element << " *aligned;   /* base of the elements */\n";
  os << "  int64_t offset;     /* of the first element from aligned, in "
        "elements */\n";
  if (rank > 0) {
    os << "  int64_t sizes[" << rank << "];\n";
    os << "  int64_t strides[" << rank << "];  /* in elements */\n";
  }
  os << "} " << name << ";\n#endif\n\n";
}

llvm::Error mlir::qat::printCHeader(llvm::raw_ostream &os,
                                    const EntrySignature &signature,
                                    StringRef sourceName, StringRef objectName,
                                    Target target) {
  StringRef name = signature.name;
  bool cuda = target == Target::CUDA;
  if (!isCIdentifier(name))
    return makeError("cannot write a C header for '" + name +
                     "': the name is not a C identifier; rename the function");
  for (auto [i, arg] : llvm::enumerate(signature.args))
    if (arg.isScalar && (arg.dtype == DType::BF16 || arg.dtype == DType::F16))
      return makeError("cannot write a C header for '" + name + "': argument " +
                       Twine(i) + " is a " + getShortName(arg.dtype) +
                       " scalar, which C cannot pass by value portably; make "
                       "it a rank-0 tensor (tensor<" +
                       getShortName(arg.dtype) + ">)");
  bool singleScalarResult =
      signature.results.size() == 1 && signature.results.front().isScalar;
  if (singleScalarResult && (signature.results.front().dtype == DType::BF16 ||
                             signature.results.front().dtype == DType::F16))
    return makeError("cannot write a C header for '" + name +
                     "': its result is a " +
                     getShortName(signature.results.front().dtype) +
                     " scalar, which C cannot return portably; make it a "
                     "rank-0 tensor");

  std::string entry = ("_mlir_ciface_" + name).str();
  std::string guard = "QAT_" + StringRef(name).upper() + "_H";
  bool severalResults = signature.results.size() > 1;
  bool singleMemRefResult =
      signature.results.size() == 1 && !signature.results.front().isScalar;
  std::string resultsType = (name + "_results").str();
  SmallVector<unsigned> memrefResults;
  for (auto [i, result] : llvm::enumerate(signature.results))
    if (!result.isScalar)
      memrefResults.push_back(i);

  os << "/* C interface of '" << name << "', compiled by qat-run from "
     << sourceName << ".\n";
  os << " * Generated: regenerate with qat-run --emit-header rather than "
        "editing.\n *\n";
  StringRef object = objectName.empty() ? StringRef("OBJECT.o") : objectName;
  if (cuda) {
    os << " * Compiled for the GPU (--target=cuda): the object holds the host "
          "code and the\n * kernels' binary, and calls the qat CUDA runtime. "
          "Link it with the runtime,\n * built from lib/Runtime/CUDA where the "
          "GPU is (it needs only the CUDA driver,\n * no LLVM, no MLIR):\n";
    os << " *   cmake -S lib/Runtime/CUDA -B rt && cmake --build rt\n";
    os << " *   cc main.c " << object
       << " -Lrt/lib -lqat_cuda_runtime -Wl,-rpath,$PWD/rt/lib -lm\n *\n";
  } else {
    os << " * Link the object written by qat-run --emit-object and libm; it "
          "needs\n * nothing else (no LLVM, no MLIR):\n";
    os << " *   cc main.c " << object << " -lm\n *\n";
  }
  os << " * MLIR signature: " << typeToString(signature.type) << "\n *\n";
  os << " * Arguments:\n";
  if (signature.args.empty())
    os << " *   none\n";
  for (auto [i, arg] : llvm::enumerate(signature.args))
    os << " *   arg" << i << ": " << typeToString(arg.type) << " -> "
       << describeValue(arg, /*inMemory=*/false, /*isResult=*/false) << "\n";
  os << " * Results";
  if (severalResults)
    os << " (in *results)";
  else if (singleMemRefResult)
    os << " (in *result)";
  else if (singleScalarResult)
    os << " (the return value)";
  os << ":\n";
  if (signature.results.empty())
    os << " *   none\n";
  for (auto [i, result] : llvm::enumerate(signature.results))
    os << " *   " << (severalResults ? "r" + std::to_string(i) : "result")
       << ": " << typeToString(result.type) << " -> "
       << describeValue(result, /*inMemory=*/!singleScalarResult,
                        /*isResult=*/true)
       << "\n";
  os << " *\n";
  os << " * Memref descriptors: element (i0, i1, ...) is at\n"
        " *   aligned[offset + i0 * strides[0] + i1 * strides[1] + ...].\n";
  if (cuda)
    os << " * Buffers are in device memory: every pointer in a descriptor, "
          "argument or\n"
          " * result, is a device pointer of the runtime's device "
          "(qat_cuda_alloc, or\n"
          " * memory of the same CUDA context, e.g. torch.Tensor.data_ptr()); "
          "copy data\n"
          " * with qat_cuda_copy_to_device / qat_cuda_copy_to_host "
          "(qat/Runtime/CUDARuntime.h).\n"
          " * Device pointers must be 16-byte aligned: kernels access 16 "
          "bytes at a time\n"
          " * (qat_cuda_alloc and cudaMalloc align to 256).\n"
          " * Scalars are passed by value from the host. The function "
          "returns after its\n"
          " * kernels finished; a CUDA error prints the failing call, kernel "
          "and error and\n"
          " * exits, unless qat_cuda_set_error_mode(QAT_CUDA_ERRORS_RECORD) "
          "was called.\n";
  os << " * Arguments are contiguous row-major arrays: allocated = aligned = "
        "the data,\n"
        " * offset = 0, sizes = the shape, strides[k] = sizes[k+1] * ... * "
        "sizes[rank-1]\n"
        " * (1 for the last dimension). The function may write into argument "
        "buffers\n"
        " * (tensors are bufferized in place where that saves a copy): pass "
        "copies of\n"
        " * data you still need. It does not keep pointers to them after "
        "returning.\n";
  if (!memrefResults.empty() && cuda)
    os << " * Returned buffers belong to the caller: qat-to-nvptx returns "
          "every result in\n"
          " * fresh device memory. Read sizes and strides from the "
          "descriptor, then\n"
          " * qat_cuda_free(desc.allocated), never the aligned pointer; "
       << name << (severalResults ? "_free_results" : "_free_result")
       << "\n * does that.\n";
  else if (!memrefResults.empty())
    os << " * Returned buffers belong to the caller: qat-to-cpu returns every "
          "result in a\n"
          " * fresh malloc'ed buffer. Read sizes and strides from the "
          "descriptor, then\n"
          " * free(desc.allocated), never free(desc.aligned); "
       << name << (severalResults ? "_free_results" : "_free_result")
       << "\n * does that.\n";
  os << " * bool is one byte holding 0 or 1. bf16 and f16 elements are their "
        "16-bit\n * patterns (bf16: the upper half of a float32).\n */\n\n";

  os << "#ifndef " << guard << "\n#define " << guard << "\n\n";
  os << "#include <stdbool.h>\n#include <stdint.h>\n#include <stdlib.h>\n\n";
  os << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";

  if (cuda && !memrefResults.empty())
    os << "/* From the qat CUDA runtime (qat/Runtime/CUDARuntime.h). */\n"
          "void qat_cuda_free(void *devicePtr);\n\n";

  llvm::StringSet<> typedefs;
  for (const BoundaryValue &value :
       llvm::concat<const BoundaryValue>(signature.args, signature.results))
    if (!value.isScalar && typedefs.insert(getDescriptorName(value)).second)
      printDescriptorTypedef(os, value, cuda);

  if (severalResults) {
    os << "/* The results of " << name << ", in order. */\n";
    os << "typedef struct " << resultsType << " {\n";
    for (auto [i, result] : llvm::enumerate(signature.results))
      os << "  "
         << (result.isScalar ? getCType(result.dtype).str()
                             : getDescriptorName(result))
         << " r" << i << ";\n";
    os << "} " << resultsType << ";\n\n";
  }

  SmallVector<std::string> params;
  if (severalResults)
    params.push_back(resultsType + " *results");
  else if (singleMemRefResult)
    params.push_back(getDescriptorName(signature.results.front()) + " *result");
  for (auto [i, arg] : llvm::enumerate(signature.args))
    params.push_back((arg.isScalar ? getCType(arg.dtype).str()
                                   : getDescriptorName(arg) + " *") +
                     (arg.isScalar ? " " : "") + "arg" + std::to_string(i));
  std::string returnType = "void";
  if (singleScalarResult) {
    // An i1 returned in a register is only defined in its low bit.
    returnType = signature.results.front().dtype == DType::I1
                     ? "uint8_t"
                     : getCType(signature.results.front().dtype).str();
  }
  if (singleScalarResult && signature.results.front().dtype == DType::I1)
    os << "/* Only bit 0 of the returned value is defined: test (r & 1). */\n";
  os << returnType << " " << entry << "("
     << (params.empty() ? std::string("void") : llvm::join(params, ", "))
     << ");\n\n";

  StringRef freeName = cuda ? "qat_cuda_free" : "free";
  if (severalResults && !memrefResults.empty()) {
    os << "/* Frees the buffers that " << name << " returned. */\n";
    os << "static inline void " << name << "_free_results(" << resultsType
       << " *results) {\n";
    for (unsigned i : memrefResults)
      os << "  " << freeName << "(results->r" << i << ".allocated);\n";
    os << "}\n\n";
  } else if (singleMemRefResult) {
    os << "/* Frees the buffer that " << name << " returned. */\n";
    os << "static inline void " << name << "_free_result("
       << getDescriptorName(signature.results.front()) << " *result) {\n";
    os << "  " << freeName << "(result->allocated);\n}\n\n";
  }

  os << "#ifdef __cplusplus\n} /* extern \"C\" */\n#endif\n\n";
  os << "#endif /* " << guard << " */\n";
  return llvm::Error::success();
}

llvm::Error mlir::qat::writeCHeader(StringRef path,
                                    const EntrySignature &signature,
                                    StringRef sourceName, StringRef objectName,
                                    Target target) {
  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return makeError("cannot write '" + path + "': " + ec.message());
  if (llvm::Error error =
          printCHeader(out.os(), signature, sourceName, objectName, target)) {
    (void)finishOutputFile(out, path);
    return error;
  }
  return finishOutputFile(out, path);
}
