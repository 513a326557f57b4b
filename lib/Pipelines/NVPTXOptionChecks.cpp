//===- NVPTXOptionChecks.cpp - qat-to-nvptx options, checked ----*- C++ -*-===//
//
// The options of qat-to-nvptx checked before any pass is built: LLVM's
// NVPTX backend answers an unknown chip or a PTX version too old for the
// chip with a fatal error (the process aborts), an unknown feature with a
// warning, and gpu-module-to-binary an unknown format or a toolkit without
// libdevice with an error that does not fail the pipeline. Each check names
// the option, the value and what is accepted.
//
//===----------------------------------------------------------------------===//

#include "qat/Pipelines/Pipelines.h"

#include "qat/Conversion/QATToGPU/QATToGPU.h"
#include "qat/Transforms/GPUTileSizes.h"

#include "mlir/Target/LLVM/NVVM/Utils.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/TargetParser/Triple.h"

#include <memory>

extern "C" void LLVMInitializeNVPTXTargetInfo();
extern "C" void LLVMInitializeNVPTXTargetMC();

using namespace mlir;

/// The oldest PTX ISA of qat's kernels (warp shuffles with a member mask).
constexpr unsigned kMinimumQATPTXVersion = 60;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// The oldest PTX ISA version (major*10 + minor) that LLVM 22's NVPTX
/// backend accepts for `chip`, or 0 when the chip is not in this table (a
/// newer LLVM). From the backend's own message ("Minimum required PTX version
/// is ...") for every chip `llc -march=nvptx64 -mcpu=help` lists;
/// test/Pipelines/qat-to-nvptx-option-checks.test compiles with each minimum.
static unsigned getMinimumPTXVersion(StringRef chip) {
  return llvm::StringSwitch<unsigned>(chip)
      .Cases({"sm_20", "sm_21", "sm_30", "sm_35"}, 32)
      .Cases({"sm_32", "sm_50"}, 40)
      .Cases({"sm_37", "sm_52"}, 41)
      .Case("sm_53", 42)
      .Cases({"sm_60", "sm_61", "sm_62"}, 50)
      .Case("sm_70", 60)
      .Case("sm_72", 61)
      .Case("sm_75", 63)
      .Case("sm_80", 70)
      .Case("sm_86", 71)
      .Case("sm_87", 74)
      .Cases({"sm_89", "sm_90"}, 78)
      .Case("sm_90a", 80)
      .Cases({"sm_100", "sm_100a", "sm_101", "sm_101a"}, 86)
      .Cases({"sm_120", "sm_120a"}, 87)
      .Cases({"sm_100f", "sm_101f", "sm_103", "sm_103a", "sm_103f", "sm_120f",
              "sm_121", "sm_121a", "sm_121f"},
             88)
      .Cases({"sm_88", "sm_110", "sm_110a", "sm_110f"}, 90)
      .Default(0);
}

/// The NVPTX subtarget description of LLVM, which knows the chips and
/// features; null if this LLVM was built without the NVPTX target.
static std::unique_ptr<llvm::MCSubtargetInfo> getNVPTXSubtargetInfo() {
  static bool initialized = [] {
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTargetMC();
    return true;
  }();
  (void)initialized;
  llvm::Triple triple("nvptx64-nvidia-cuda");
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  return std::unique_ptr<llvm::MCSubtargetInfo>(
      target->createMCSubtargetInfo(triple, "", ""));
}

llvm::Error mlir::qat::verifyQATToNVPTXPipelineOptions(
    const QATToNVPTXPipelineOptions &options) {
  std::unique_ptr<llvm::MCSubtargetInfo> info = getNVPTXSubtargetInfo();
  if (!info)
    return makeError("qat-to-nvptx: this LLVM has no NVPTX target");

  StringRef chip = options.chip;
  if (!info->isCPUStringValid(chip)) {
    SmallVector<StringRef> chips;
    for (const llvm::SubtargetSubTypeKV &kv :
         info->getAllProcessorDescriptions())
      chips.push_back(kv.Key);
    return makeError("qat-to-nvptx: unknown chip=" + chip +
                     "; the NVPTX backend knows " + llvm::join(chips, ", "));
  }

  // Features: +name or -name of NVPTX features, comma-separated; the
  // highest +ptxNN is the PTX ISA version.
  unsigned ptx = 0;
  StringRef ptxFeature;
  SmallVector<StringRef> features;
  StringRef(options.features).split(features, ',', -1, /*KeepEmpty=*/false);
  for (StringRef feature : features) {
    StringRef name = feature.trim();
    bool known = (name.consume_front("+") || name.consume_front("-")) &&
                 llvm::any_of(info->getAllProcessorFeatures(),
                              [&](const llvm::SubtargetFeatureKV &kv) {
                                return name == kv.Key;
                              });
    if (!known) {
      SmallVector<StringRef> ptxVersions;
      for (const llvm::SubtargetFeatureKV &kv : info->getAllProcessorFeatures())
        if (StringRef(kv.Key).starts_with("ptx"))
          ptxVersions.push_back(kv.Key);
      return makeError("qat-to-nvptx: unknown feature '" + feature.trim() +
                       "' in features=" + options.features +
                       "; expected comma-separated +name or -name of NVPTX "
                       "features, e.g. +" +
                       ptxVersions.back() + " (PTX versions: " +
                       llvm::join(ptxVersions, ", ") + ")");
    }
    unsigned version = 0;
    if (feature.trim().starts_with("+ptx") &&
        !name.drop_front(3).getAsInteger(10, version) && version > ptx) {
      ptx = version;
      ptxFeature = feature.trim();
    }
  }
  unsigned minimum = getMinimumPTXVersion(chip);
  if (ptx && minimum && ptx < minimum)
    return makeError("qat-to-nvptx: features=" + options.features +
                     " asks "
                     "for PTX " +
                     Twine(ptx / 10) + "." + Twine(ptx % 10) + " (" +
                     ptxFeature + "), but chip=" + chip + " needs PTX " +
                     Twine(minimum / 10) + "." + Twine(minimum % 10) +
                     " or later: use +ptx" + Twine(minimum) +
                     " or newer, or no +ptx feature");

  // The kernels exchange values with warp shuffles under a mask
  // (shfl.sync, PTX 6.0); with an older PTX, LLVM cannot select them.
  unsigned effective = std::max(ptx, minimum);
  if (minimum && effective < kMinimumQATPTXVersion)
    return makeError("qat-to-nvptx: chip=" + chip + " with features=" +
                     options.features + " compiles for PTX " +
                     Twine(effective / 10) + "." + Twine(effective % 10) +
                     ", but qat's kernels need PTX 6.0 or later (shfl.sync): "
                     "use +ptx60 or newer");

  if (options.optLevel > 3)
    return makeError("qat-to-nvptx: opt-level=" + Twine(options.optLevel) +
                     " is not an optimization level; expected 0, 1, 2 or 3");

  StringRef format = options.format;
  if (format != "bin" && format != "isa" && format != "fatbin")
    return makeError("qat-to-nvptx: unknown format=" + format +
                     "; expected bin (cubin, assembled by ptxas), isa (PTX) "
                     "or fatbin");

  // gpu-module-to-binary links libdevice from the toolkit; where it is
  // missing it reports an error and goes on (exit 0, and a kernel that calls
  // a libdevice function is left with an unresolved call). An empty toolkit
  // is upstream's lookup (CUDA_ROOT, CUDA_HOME, CUDA_PATH, the path CMake
  // found), checked the same way.
  StringRef toolkit = options.toolkit;
  if (toolkit.empty())
    toolkit = NVVM::getCUDAToolkitPath();
  if (!toolkit.empty()) {
    SmallString<128> libdevice(toolkit);
    llvm::sys::path::append(libdevice, "nvvm", "libdevice", "libdevice.10.bc");
    if (!llvm::sys::fs::exists(libdevice))
      return makeError("qat-to-nvptx: toolkit=" + options.toolkit +
                       (options.toolkit.empty() ? " (found: " + toolkit + ")"
                                                : std::string()) +
                       " is not a CUDA toolkit: " + libdevice +
                       " does not exist; expected the root of a CUDA toolkit "
                       "(toolkit=/usr/local/cuda)");
  }

  // The options the pipeline passes on are checked by their passes' own
  // checks.
  ConvertQATToGPUOptions rows;
  rows.elementsPerThread = options.elementsPerThread;
  if (llvm::Error error = verifyConvertQATToGPUOptions(rows))
    return makeError("qat-to-nvptx: " + llvm::toString(std::move(error)));
  if (llvm::Error error =
          verifyGPUTileSizes(options.linalgTileSizes, "linalg-tile-sizes"))
    return makeError("qat-to-nvptx: " + llvm::toString(std::move(error)));
  return llvm::Error::success();
}
