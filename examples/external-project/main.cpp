//===- main.cpp - A compiler embedding qat through its CMake package ------===//
//
// Registers qat next to upstream MLIR, parses a QuEST activation quantizer,
// canonicalizes and verifies it, lowers it to the LLVM dialect with the
// qat-to-cpu pipeline, prints a summary of the result (its functions and
// the number of ops of each dialect: the module itself is about 1,100 lines
// of LLVM dialect) and writes an object file to the path given as first
// argument.
//
//===----------------------------------------------------------------------===//

#include "qat/InitAllDialects.h"
#include "qat/InitAllPasses.h"
#include "qat/Pipelines/Pipelines.h"
#include "qat/Runner/Compiler.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <string>

using namespace mlir;

// Rotate, quantize to packed INT4 codes, dequantize, rotate back: the
// canonicalized module keeps the quantize/dequantize pair (NaN stores the
// lowest code, so the round trip is not a qat.fake_quant).
static constexpr llvm::StringLiteral kProgram = R"mlir(
#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
func.func @quest_activation(%x: tensor<4x256xf32>) -> tensor<4x256xf32> {
  %r = qat.hadamard %x block 128 : tensor<4x256xf32>
  %s = qat.scale %r as #q4 : tensor<4x256xf32> -> tensor<4x1xf32>
  %q = qat.quantize %r, %s as #q4 packed
      : tensor<4x256xf32>, tensor<4x1xf32> -> tensor<4x128xi8>
  %d = qat.dequantize %q, %s as #q4 packed
      : tensor<4x128xi8>, tensor<4x1xf32> -> tensor<4x256xf32>
  %y = qat.hadamard %d block 128 : tensor<4x256xf32>
  return %y : tensor<4x256xf32>
}
)mlir";

// The functions a module defines and how many ops of each dialect it holds.
static void printSummary(ModuleOp module, llvm::raw_ostream &os) {
  for (auto func : module.getOps<LLVM::LLVMFuncOp>())
    if (!func.isExternal())
      os << "llvm.func @" << func.getName() << "\n";
  std::map<std::string, unsigned> opsPerDialect;
  module.walk([&](Operation *op) {
    if (op != module.getOperation())
      ++opsPerDialect[op->getName().getDialectNamespace().str()];
  });
  for (const auto &[dialect, count] : opsPerDialect)
    os << "  " << dialect << ": " << count << " ops\n";
}

int main(int argc, char **argv) {
  // Passes and pipelines by name, as qat-opt has them.
  qat::registerAllPasses();
  DialectRegistry registry;
  qat::registerAllDialects(registry);
  MLIRContext context(registry);

  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(kProgram, &context, "quest.mlir");
  if (!module)
    return 1;

  PassManager canonicalize(&context);
  canonicalize.addPass(createCanonicalizerPass());
  if (failed(canonicalize.run(*module)) || failed(verify(*module)))
    return 1;
  llvm::outs() << "// canonicalized and verified\n" << *module << "\n";

  PassManager lower(&context);
  qat::buildQATToCPUPipeline(lower, qat::QATToCPUPipelineOptions());
  if (failed(lower.run(*module)))
    return 1;
  llvm::outs() << "// qat-to-cpu\n";
  printSummary(*module, llvm::outs());

  if (argc < 2)
    return 0;
  if (llvm::Error error =
          qat::emitObjectFile(*module, argv[1], qat::ObjectOptions())) {
    llvm::errs() << "qat-embed-example: " << llvm::toString(std::move(error))
                 << "\n";
    return 1;
  }
  llvm::outs() << "// wrote " << argv[1] << "\n";
  return 0;
}
