//===- QatRunMain.cpp - The qat-run driver ----------------------*- C++ -*-===//
//
// Command-line options, help text, and the order of the steps: parse, find
// the entry, read the inputs, lower, emit artifacts, run, report.
//
//===----------------------------------------------------------------------===//

#include "qat/Runner/QatRunMain.h"
#include "qat/Runner/OutputFile.h"

#include "qat/Runner/CHeader.h"
#include "qat/Runner/CUDADevice.h"
#include "qat/Runner/Compiler.h"
#include "qat/Runner/Executor.h"
#include "qat/Runner/Inputs.h"
#include "qat/Runner/NumPy.h"
#include "qat/Runner/Print.h"
#include "qat/Runner/Signature.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/DynamicLibrary.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

#include <cstdio>

using namespace mlir;
using namespace mlir::qat;
namespace cl = llvm::cl;

static constexpr const char *kOverview =
    R"(qat-run: run one function of an MLIR module on the CPU or a CUDA GPU

qat-run reads a module at the qat / linalg-on-tensors level (or one already
lowered to the LLVM dialect), lowers it with the qat-to-cpu pipeline
(one-shot bufferization with identity layouts at function boundaries, loops,
LLVM dialect) or, with --target=cuda, the qat-to-nvptx pipeline (GPU
kernels, host code that calls the qat CUDA runtime), JIT-compiles it with
mlir::ExecutionEngine, calls one function on inputs you give (NumPy .npy
files or seeded random data) and prints or saves the results. It can also
compile the function ahead of time into an object file and a C header, for
programs on machines without LLVM.

The function (--entry, default 'main' or the only public function) takes and
returns ranked tensors, memrefs (identity layout) or scalars of f32, f64,
f16, bf16, i1, i8, i16, i32 or i64. Element types and shapes come from its
signature; '?' sizes come from the inputs. Integers are signless in MLIR and
read and printed as signed. Scalars and rank-0 tensors take 0-d .npy files
or a generated value (--arg=const:0.5). In a module already in the LLVM
dialect the tensor types are gone: qat-run reads them from the function's
qat.signature attribute (which --emit-lowered writes) or from --signature,
and checks them against the function's LLVM type, which fixes the ranks
but not the element types.
)";

static constexpr const char *kExtraHelp = R"(
INPUTS (one --arg per function argument, in order)
  --arg=x.npy            a NumPy file (np.save). Its dtype must be the
                         argument's: f32 float32, f64 float64, i1 bool,
                         i8 int8 ... i64 int64. bf16 arguments take float32
                         files, f16 arguments float16 or float32 files;
                         float32 values are rounded to nearest even. The
                         file must be C-ordered (not fortran_order) and its
                         shape must match (any size for '?').
  --arg=normal[:MEAN,STD]  Gaussian samples, default 0,1 (float types).
  --arg=uniform[:LOW,HIGH] floats in [LOW, HIGH) (default 0,1); for integer
                         types integers in the closed range [LOW, HIGH].
  --arg=const:VALUE      every element VALUE (true/false or 0/1 for i1).
  --arg=iota             0, 1, 2, ... in row-major order (wraps for narrow
                         integers; alternates False/True for i1).
  A generated input may end in @SHAPE (e.g. --arg=normal:0,1@8x16) to size
  the '?' dimensions of its argument. Generated data depends only on --seed
  (default 0) and the argument's position: each argument has its own
  stream, reproducible across platforms.

OUTPUTS
  Results are printed like numpy's repr, each under a line
  'result N: shape=(...) dtype=...', unless they are written to files:
  --out=r.npy once per result, in order, or --out-dir=DIR (DIR/result0.npy,
  ...). --print prints as well. bf16 results are printed as bfloat16 and
  written as float32 .npy files (exact). Arrays with more than --threshold
  elements are summarized with '...'; --full-precision prints the fewest
  digits that read back to the same value.

TIMING
  --time calls the function --warmup times, then --repeat times, and prints
  'time: median ..., min ..., max ... over N runs (W warm-up)'. The timed
  region is the call alone: inputs are copied fresh before each call
  (compiled code may update its arguments in place) and results are copied
  out and freed after it. On the GPU the call is timed with CUDA events on
  the runtime's stream (the compiled function waits for its kernels before
  returning), and the line ends with the device's name.

GPU (--target=cuda)
  The module is lowered by qat-to-nvptx: every op runs in a kernel and the
  function's arguments and results are device buffers. qat-run loads the
  qat CUDA runtime (libqat_cuda_runtime.so, found in --shared-libs, next to
  qat-run in ../lib, or where the build put it) with dlopen, uploads the
  inputs, calls, downloads the results and frees them; qat-run itself links
  no CUDA library and runs without a driver for --target=cpu. Without the
  NVIDIA driver it stops with "libcuda.so.1 not found", without a device
  with "no CUDA device: " and the CUDA error. The device is the one
  QAT_CUDA_DEVICE names (default 0).
  --gpu-chip=sm_80       the chip to compile for (default: the device's own
                         when running, sm_90a on Hopper; sm_90 when only
                         emitting)
  --gpu-features=+ptx80  PTX features
  --pipeline-options='format=isa linalg-tile-sizes=8,32'
                         any other option of the pipeline (qat-to-nvptx:
                         chip, features, opt-level, toolkit (whose ptxas
                         assembles the kernels), format=bin|isa|fatbin,
                         linalg-tile-sizes; see qat-opt --help); also
                         qat-to-cpu's options with --target=cpu.
                         --gpu-chip and --gpu-features win over chip= and
                         features= here
  A CUDA error at any step (an upload, a launch, a fault in a kernel, a
  download) stops qat-run with the failing CUDA call, the kernel, and the
  CUDA error's name and text. A fault inside a kernel is reported when the
  function waits for its kernels, with the kernels launched since the last
  wait; run with CUDA_LAUNCH_BLOCKING=1 to have the launch of the faulting
  kernel report it. --emit-lowered writes the host module with the kernels' binaries
  (qat-run --target=cuda runs it again).

AHEAD OF TIME
  --emit-object=f.o writes the function as a position-independent object
  file whose C entry point is _mlir_ciface_<NAME>; --emit-header=f.h writes
  the matching C header (descriptor structs, prototype, shapes, and who
  frees returned buffers). The object needs only libc and libm:
      cc main.c f.o -lm
  --emit-lowered=f.llvm.mlir writes the module in the LLVM dialect, with the
  tensor-level signature in the function's qat.signature attribute so that
  qat-run can run it again. With any --emit-* option, qat-run compiles only;
  add --run to also run. The object holds every function of the module;
  the header describes the entry. Objects are compiled for --object-cpu
  (default generic); the JIT uses every feature of the host CPU. Either
  way bf16 narrowing is integer arithmetic (round to nearest even,
  subnormals kept), so both give the same bits.
  With --target=cuda the object holds the host code and the kernels'
  binaries (cubin, or PTX with format=isa), the header describes device
  pointers, and the object's undefined symbols are the mgpu* functions of
  the qat CUDA runtime: build the runtime from lib/Runtime/CUDA where the
  GPU is (it needs only the CUDA driver, no LLVM) and link
      cmake -S lib/Runtime/CUDA -B rt && cmake --build rt
      cc main.c f.o -Lrt/lib -lqat_cuda_runtime -Wl,-rpath,$PWD/rt/lib -lm

EXAMPLES
  qat-run model.mlir --arg=x.npy --arg=w.npy
  qat-run model.mlir --entry=step --arg=normal:0,1 --arg=uniform:-8,7 --seed=3
  qat-run model.mlir --arg=x.npy --out=y.npy --time --repeat=100
  qat-run model.mlir --emit-object=model.o --emit-header=model.h
  qat-run model.mlir --target=cuda --arg=x.npy --time
  qat-run model.mlir --target=cuda --gpu-chip=sm_90 --emit-object=model.o \
      --emit-header=model.h
  qat-opt --qat-to-cpu m.mlir -o m.ll.mlir
  qat-run m.ll.mlir --signature='(tensor<4xf32>) -> tensor<4xf32>' --arg=iota

Exit status: 0 on success, 1 on any error (unknown function, wrong number
of --arg, shape or dtype mismatch, unreadable or invalid input file, bad
spec, invalid IR, pipeline failure, no CUDA driver or device, CUDA error). MLIR's pass manager options work too
without being listed here: --mlir-print-ir-after-all,
--mlir-print-ir-after-failure, --mlir-pass-statistics, --mlir-timing, ...
)";

namespace {
/// The options, as locals of qatRunMain so that linking the library into
/// another tool does not add them to its command line.
struct Options {
  cl::OptionCategory category{"qat-run options"};

  cl::opt<std::string> inputFile{cl::Positional, cl::desc("<input.mlir>"),
                                 cl::init("-"), cl::cat(category)};
  cl::opt<std::string> entry{
      "entry",
      cl::desc("Function to run (default: 'main', or the only "
               "public function)"),
      cl::value_desc("name"), cl::cat(category)};
  cl::list<std::string> args{
      "arg",
      cl::desc("Input for the next argument: FILE.npy, normal[:MEAN,STD], "
               "uniform[:LOW,HIGH], const:VALUE or iota, optionally with "
               "@SHAPE (see below)"),
      cl::value_desc("spec"), cl::cat(category)};
  cl::opt<uint64_t> seed{"seed", cl::desc("Seed of generated inputs"),
                         cl::init(0), cl::cat(category)};
  cl::opt<std::string> signature{
      "signature",
      cl::desc("Tensor-level type of an entry already in the LLVM dialect, "
               "e.g. '(tensor<4xf32>) -> tensor<4xf32>'"),
      cl::value_desc("function type"), cl::cat(category)};

  cl::list<std::string> outs{
      "out", cl::desc("Write the next result to this .npy file"),
      cl::value_desc("file.npy"), cl::cat(category)};
  cl::opt<std::string> outDir{
      "out-dir", cl::desc("Write the results to DIR/result<N>.npy"),
      cl::value_desc("dir"), cl::cat(category)};
  cl::opt<cl::boolOrDefault> print{
      "print",
      cl::desc("Print the results (default: unless --out or --out-dir)"),
      cl::cat(category)};
  cl::opt<bool> printInputs{"print-inputs",
                            cl::desc("Print the inputs before running"),
                            cl::cat(category)};
  cl::opt<std::string> saveInputs{
      "save-inputs",
      cl::desc("Write the inputs (generated ones too) to DIR/arg<N>.npy"),
      cl::value_desc("dir"), cl::cat(category)};
  cl::opt<unsigned> precision{"precision",
                              cl::desc("Significant digits of printed floats"),
                              cl::init(6), cl::cat(category)};
  cl::opt<bool> fullPrecision{
      "full-precision",
      cl::desc("Print floats with the fewest digits that read back exactly"),
      cl::cat(category)};
  cl::opt<int64_t> threshold{
      "threshold",
      cl::desc("Summarize printed arrays of more elements than this with "
               "'...' (0: never)"),
      cl::init(1000), cl::cat(category)};
  cl::opt<unsigned> lineWidth{
      "linewidth", cl::desc("Wrap printed rows at this many columns"),
      cl::init(75), cl::cat(category)};

  cl::opt<bool> time{"time",
                     cl::desc("Time the call: median, min and max of "
                              "--repeat runs after --warmup runs"),
                     cl::cat(category)};
  cl::opt<unsigned> repeat{"repeat", cl::desc("Timed runs for --time"),
                           cl::init(20), cl::cat(category)};
  cl::opt<unsigned> warmup{"warmup", cl::desc("Untimed runs before timing"),
                           cl::init(3), cl::cat(category)};
  cl::opt<unsigned> optLevel{
      "opt-level",
      cl::desc("LLVM optimization level of the JIT and objects "
               "(0-3)"),
      cl::init(2), cl::cat(category)};

  cl::list<std::string> sharedLibs{
      "shared-libs",
      cl::desc("Libraries the JIT resolves symbols from, besides libc, libm "
               "and MLIR's runner utilities (and, for --target=cuda, the qat "
               "CUDA runtime, which may be given here)"),
      cl::value_desc("a.so,b.so"), cl::CommaSeparated, cl::cat(category)};

  cl::opt<Target> target{
      "target", cl::desc("Where the function runs (default cpu)"),
      cl::values(clEnumValN(Target::CPU, "cpu", "the host CPU (qat-to-cpu)"),
                 clEnumValN(Target::CUDA, "cuda",
                            "a CUDA GPU (qat-to-nvptx, the qat CUDA runtime)")),
      cl::init(Target::CPU), cl::cat(category)};
  cl::opt<std::string> gpuChip{
      "gpu-chip",
      cl::desc("GPU to compile for with --target=cuda (default: the "
               "device's, or sm_90 when only emitting)"),
      cl::value_desc("sm_XY"), cl::cat(category)};
  cl::opt<std::string> gpuFeatures{
      "gpu-features",
      cl::desc("PTX features with --target=cuda (default +ptx80)"),
      cl::value_desc("+ptxNN"), cl::cat(category)};
  cl::opt<std::string> pipelineOptions{
      "pipeline-options",
      cl::desc("Options of the lowering pipeline (qat-to-nvptx or "
               "qat-to-cpu), e.g. 'format=isa linalg-tile-sizes=8,32'"),
      cl::value_desc("'key=value ...'"), cl::cat(category)};

  cl::opt<std::string> emitObject{
      "emit-object",
      cl::desc("Write an object file with the C entry point "
               "_mlir_ciface_<name>"),
      cl::value_desc("file.o"), cl::cat(category)};
  cl::opt<std::string> emitHeader{
      "emit-header", cl::desc("Write the C header of the object's entry point"),
      cl::value_desc("file.h"), cl::cat(category)};
  cl::opt<std::string> emitLowered{
      "emit-lowered",
      cl::desc("Write the module lowered to the LLVM dialect (runnable by "
               "qat-run)"),
      cl::value_desc("file.mlir"), cl::cat(category)};
  cl::opt<std::string> objectTriple{
      "object-triple",
      cl::desc("Target triple of --emit-object (default: the host's)"),
      cl::cat(category)};
  cl::opt<std::string> objectCPU{
      "object-cpu",
      cl::desc("CPU of --emit-object: 'generic' (default, runs on any CPU "
               "of the architecture), 'native' or an LLVM CPU name"),
      cl::init("generic"), cl::cat(category)};
  cl::opt<bool> run{"run",
                    cl::desc("Also run the function when emitting files"),
                    cl::cat(category)};

  cl::extrahelp extraHelp{kExtraHelp};
};
} // namespace

static int fail(const Twine &message) {
  llvm::WithColor::error(llvm::errs(), "qat-run") << message << "\n";
  return 1;
}

static int fail(llvm::Error error) {
  return fail(llvm::toString(std::move(error)));
}

static std::string formatDuration(double seconds) {
  const char *unit = "s";
  double value = seconds;
  if (seconds < 1e-6) {
    unit = "ns";
    value = seconds * 1e9;
  } else if (seconds < 1e-3) {
    unit = "us";
    value = seconds * 1e6;
  } else if (seconds < 1) {
    unit = "ms";
    value = seconds * 1e3;
  }
  std::string text;
  llvm::raw_string_ostream(text) << llvm::format("%.3f %s", value, unit);
  return text;
}

static void printArray(llvm::raw_ostream &os, StringRef label,
                       const HostTensor &tensor, const PrintOptions &options) {
  os << label << ": shape=" << formatShape(tensor.getShape())
     << " dtype=" << getDTypeName(tensor.getDType()) << "\n";
  printTensor(os, tensor, options);
}

static llvm::Error writeArrays(StringRef dir, StringRef prefix,
                               ArrayRef<HostTensor> arrays) {
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return llvm::createStringError(ec, "cannot create directory '" + dir +
                                           "': " + ec.message());
  for (auto [i, array] : llvm::enumerate(arrays)) {
    SmallString<128> path(dir);
    llvm::sys::path::append(path, prefix + Twine(i) + ".npy");
    if (llvm::Error error = writeNpy(path, array))
      return error;
  }
  return llvm::Error::success();
}

static llvm::Error writeLowered(StringRef path, ModuleOp module) {
  std::string message;
  std::unique_ptr<llvm::ToolOutputFile> out = openOutputFile(path, &message);
  if (!out)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "cannot write '" + path + "': " + message);
  module.print(out->os());
  out->os() << "\n";
  return finishOutputFile(*out, path);
}

int mlir::qat::qatRunMain(int argc, char **argv, DialectRegistry &registry) {
  llvm::InitLLVM initLLVM(argc, argv);
  Options options;
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  cl::HideUnrelatedOptions(options.category);
  cl::ParseCommandLineOptions(argc, argv, kOverview);

  if (options.optLevel > 3)
    return fail("--opt-level must be 0, 1, 2 or 3, not " +
                Twine(options.optLevel));
  if (options.precision < 1 || options.precision > 17)
    return fail("--precision must be between 1 and 17, not " +
                Twine(options.precision));
  if (options.time && options.repeat == 0)
    return fail("--repeat must be at least 1");
  if (options.threshold < 0)
    return fail("--threshold must be >= 0");
  bool cuda = options.target == Target::CUDA;
  if (!cuda && (!options.gpuChip.empty() || !options.gpuFeatures.empty()))
    return fail("--gpu-chip and --gpu-features need --target=cuda");
  bool emitting = !options.emitObject.empty() || !options.emitHeader.empty() ||
                  !options.emitLowered.empty();
  bool running = !emitting || options.run;

  // Cheap checks first: a typo in a spec should not wait for compilation.
  SmallVector<InputSpec> specs;
  for (const std::string &text : options.args) {
    auto specOrErr = parseInputSpec(text);
    if (!specOrErr)
      return fail(specOrErr.takeError());
    specs.push_back(std::move(*specOrErr));
  }

  MLIRContext context(registry);
  std::string message;
  std::unique_ptr<llvm::MemoryBuffer> file =
      openInputFile(options.inputFile, &message);
  if (!file)
    return fail("cannot open '" + options.inputFile + "': " + message);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(sourceMgr, ParserConfig(&context));
  if (!module)
    return fail("'" + options.inputFile +
                "' is not a valid MLIR module (see the diagnostics above)");

  auto entryOrErr = findEntryFunction(*module, options.entry);
  if (!entryOrErr)
    return fail(entryOrErr.takeError());
  auto signatureOrErr = getEntrySignature(*entryOrErr, options.signature);
  if (!signatureOrErr)
    return fail(signatureOrErr.takeError());
  EntrySignature &signature = *signatureOrErr;

  SmallVector<HostTensor> inputs;
  if (running) {
    size_t expected = signature.args.size();
    if (specs.size() != expected) {
      std::string list;
      for (unsigned i = 0; i < expected; ++i)
        list += "\n  " + describeArg(signature, i);
      return fail("'" + signature.name + "' takes " + Twine(expected) +
                  (expected == 1 ? " argument" : " arguments") + " but " +
                  Twine(specs.size()) +
                  (specs.size() == 1 ? " --arg was" : " --arg were") +
                  " given" + (expected ? ":" : "") + list);
    }
    for (auto [i, spec] : llvm::enumerate(specs)) {
      auto inputOrErr = materializeInput(spec, signature, i, options.seed);
      if (!inputOrErr)
        return fail(inputOrErr.takeError());
      inputs.push_back(std::move(*inputOrErr));
    }
    size_t results = signature.results.size();
    if (!options.outs.empty() && options.outs.size() != results)
      return fail("'" + signature.name + "' returns " + Twine(results) +
                  (results == 1 ? " result" : " results") + " but " +
                  Twine(options.outs.size()) + " --out " +
                  (options.outs.size() == 1 ? "was" : "were") +
                  " given; give one per result, or use --out-dir");
  } else if (!specs.empty() || !options.outs.empty() ||
             !options.outDir.empty() || options.time) {
    return fail("--arg, --out, --out-dir and --time need a run; with "
                "--emit-* options qat-run only compiles unless --run is "
                "given");
  }

  // The device first: without a driver or a device, say so before
  // compiling; and its chip is what to compile for.
  std::unique_ptr<CUDADevice> device;
  if (cuda && running) {
    std::string tool = llvm::sys::fs::getMainExecutable(
        argv[0], reinterpret_cast<void *>(&qatRunMain));
    auto runtimeOrErr = findCUDARuntime(tool, options.sharedLibs);
    if (!runtimeOrErr)
      return fail(runtimeOrErr.takeError());
    auto deviceOrErr = CUDADevice::open(*runtimeOrErr);
    if (!deviceOrErr)
      return fail(deviceOrErr.takeError());
    device = std::move(*deviceOrErr);
  }

  LoweringOptions lowering;
  lowering.target = options.target;
  lowering.pipelineOptions = options.pipelineOptions;
  if (cuda) {
    std::string chip = options.gpuChip;
    if (chip.empty() && device)
      chip = device->getChip().str();
    if (!chip.empty())
      lowering.pipelineOptions += " chip=" + chip;
    if (!options.gpuFeatures.empty())
      lowering.pipelineOptions += " features=" + options.gpuFeatures;
  }
  if (llvm::Error error =
          lowerToLLVMDialect(*module, signature, lowering, [](PassManager &pm) {
            applyDefaultTimingPassManagerCLOptions(pm);
            return applyPassManagerCLOptions(pm);
          }))
    return fail(std::move(error));

  if (!options.emitLowered.empty())
    if (llvm::Error error = writeLowered(options.emitLowered, *module))
      return fail(std::move(error));
  // A module lowered elsewhere has the C wrapper only if its function had
  // llvm.emit_c_interface; without it the header would promise a symbol the
  // object lacks.
  std::string wrapper = "_mlir_ciface_" + signature.name;
  auto wrapperFunc = module->lookupSymbol<LLVM::LLVMFuncOp>(wrapper);
  if ((!options.emitHeader.empty() || !options.emitObject.empty()) &&
      (!wrapperFunc || wrapperFunc.isExternal()))
    return fail("the module has no C entry point " + wrapper + "; lower '" +
                signature.name +
                "' with the llvm.emit_c_interface attribute, or give qat-run "
                "the module before lowering");
  if (!options.emitHeader.empty())
    if (llvm::Error error = writeCHeader(
            options.emitHeader, signature,
            llvm::sys::path::filename(options.inputFile),
            llvm::sys::path::filename(options.emitObject), options.target))
      return fail(std::move(error));
  if (!options.emitObject.empty()) {
    ObjectOptions objectOptions;
    objectOptions.optLevel = options.optLevel;
    objectOptions.triple = options.objectTriple;
    objectOptions.cpu = options.objectCPU;
    SmallVector<std::string> undefined;
    if (llvm::Error error = emitObjectFile(*module, options.emitObject,
                                           objectOptions, &undefined))
      return fail(std::move(error));
    // What the process cannot resolve, a program linked on this machine with
    // `cc ... -lm` probably cannot either: old libgcc lacks bf16 helpers.
    llvm::sys::DynamicLibrary::LoadLibraryPermanently(nullptr);
    for (StringRef symbol : undefined)
      if (!(cuda &&
            (symbol.starts_with("mgpu") || symbol.starts_with("qat_cuda_"))) &&
          !llvm::sys::DynamicLibrary::SearchForAddressOfSymbol(symbol.str()))
        llvm::WithColor::warning(llvm::errs(), "qat-run")
            << "'" << options.emitObject << "' needs " << symbol
            << ", which this machine's C runtime does not provide; link a "
               "library that does"
            << (symbol.contains("bf")
                    ? " (libgcc 13 or later, compiler-rt), or use "
                      "--object-cpu=native on a CPU with bf16 conversion "
                      "instructions"
                : symbol.starts_with("memref")
                    ? " (MLIR's libmlir_c_runner_utils; memref.copy of "
                      "non-contiguous or unranked memrefs calls it)"
                    : "")
            << "\n";
  }
  if (!running)
    return 0;

  PrintOptions printOptions;
  printOptions.precision = options.precision;
  printOptions.fullPrecision = options.fullPrecision;
  printOptions.threshold = options.threshold;
  printOptions.lineWidth = options.lineWidth;
  llvm::raw_ostream &os = llvm::outs();
  if (options.printInputs)
    for (auto [i, input] : llvm::enumerate(inputs))
      printArray(os, "arg " + std::to_string(i), input, printOptions);
  if (!options.saveInputs.empty())
    if (llvm::Error error = writeArrays(options.saveInputs, "arg", inputs))
      return fail(std::move(error));

  auto functionOrErr =
      JITFunction::create(*module, signature, options.optLevel,
                          llvm::to_vector(options.sharedLibs), device.get());
  if (!functionOrErr)
    return fail(functionOrErr.takeError());
  JITFunction &function = **functionOrErr;

  // Compiled code prints through C stdio (vector.print, printf), qat-run
  // through raw_ostream: flush each before the other writes, to keep order.
  os.flush();
  SmallVector<HostTensor> results;
  std::optional<Timing> timing;
  if (options.time) {
    auto timingOrErr =
        function.time(inputs, options.warmup, options.repeat, results);
    if (!timingOrErr)
      return fail(timingOrErr.takeError());
    timing = *timingOrErr;
  } else {
    auto resultsOrErr = function.call(inputs);
    if (!resultsOrErr)
      return fail(resultsOrErr.takeError());
    results = std::move(*resultsOrErr);
  }

  std::fflush(stdout);

  for (auto [path, result] : llvm::zip(options.outs, results))
    if (llvm::Error error = writeNpy(path, result))
      return fail(std::move(error));
  if (!options.outDir.empty())
    if (llvm::Error error = writeArrays(options.outDir, "result", results))
      return fail(std::move(error));
  bool print = options.print == cl::BOU_TRUE ||
               (options.print == cl::BOU_UNSET && options.outs.empty() &&
                options.outDir.empty());
  if (print)
    for (auto [i, result] : llvm::enumerate(results))
      printArray(os, "result " + std::to_string(i), result, printOptions);
  if (timing) {
    os << "time: median " << formatDuration(timing->median) << ", min "
       << formatDuration(timing->min) << ", max " << formatDuration(timing->max)
       << " over " << timing->runs << (timing->runs == 1 ? " run" : " runs")
       << " (" << timing->warmup << " warm-up)";
    if (device)
      os << " on " << device->getDescription() << ", CUDA events";
    os << "\n";
  }
  os.flush();
  return 0;
}
