//===- GPUDeviceBuffers.cpp - Host buffers into GPU memory ------*- C++ -*-===//
//
// Rewrites the allocations, frees and copies of host code into their gpu
// dialect counterparts and rejects host code that still touches elements.
//
//===----------------------------------------------------------------------===//

#include "qat/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/MapVector.h"

namespace mlir::qat {
#define GEN_PASS_DEF_GPUDEVICEBUFFERS
#include "qat/Transforms/Passes.h.inc"
} // namespace mlir::qat

using namespace mlir;

namespace {

bool isOnHost(Operation *op) { return !op->getParentOfType<gpu::LaunchOp>(); }

struct AllocToGPU : OpRewritePattern<memref::AllocOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(memref::AllocOp op,
                                PatternRewriter &rewriter) const override {
    if (!isOnHost(op))
      return failure();
    rewriter.replaceOpWithNewOp<gpu::AllocOp>(
        op, op.getType(), /*asyncToken=*/Type(), /*asyncDependencies=*/
        ValueRange(), op.getDynamicSizes(), op.getSymbolOperands(),
        /*hostShared=*/false);
    return success();
  }
};

struct DeallocToGPU : OpRewritePattern<memref::DeallocOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(memref::DeallocOp op,
                                PatternRewriter &rewriter) const override {
    if (!isOnHost(op))
      return failure();
    rewriter.replaceOpWithNewOp<gpu::DeallocOp>(op, /*asyncToken=*/Type(),
                                                ValueRange(), op.getMemref());
    return success();
  }
};

struct CopyToGPU : OpRewritePattern<memref::CopyOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(memref::CopyOp op,
                                PatternRewriter &rewriter) const override {
    if (!isOnHost(op))
      return failure();
    rewriter.replaceOpWithNewOp<gpu::MemcpyOp>(op, /*asyncToken=*/Type(),
                                               ValueRange(), op.getTarget(),
                                               op.getSource());
    return success();
  }
};

} // namespace

/// Gives the kernels a device copy of every constant buffer the host code
/// reads (`arith.constant dense<...>` tensors bufferize to memref.get_global
/// of a host global): one gpu.alloc + gpu.memcpy per global at the entry of
/// the function, a gpu.dealloc before each return. Hoisted to the entry, so
/// that a use inside a host loop does not upload (and leak) per iteration;
/// by hand, because the copy's lifetime is the function's, which no
/// single-op pattern sees.
static void uploadConstants(func::FuncOp func) {
  llvm::MapVector<StringRef, SmallVector<memref::GetGlobalOp>> uses;
  func.walk([&](memref::GetGlobalOp op) {
    if (isOnHost(op))
      uses[op.getName()].push_back(op);
  });
  if (uses.empty() || func.isExternal())
    return;
  Block &entry = func.getBody().front();
  SmallVector<Operation *> returns;
  func.walk([&](func::ReturnOp op) { returns.push_back(op); });
  OpBuilder builder(func.getContext());
  for (auto &[name, ops] : uses) {
    memref::GetGlobalOp first = ops.front();
    Location loc = first.getLoc();
    builder.setInsertionPointToStart(&entry);
    auto global = memref::GetGlobalOp::create(builder, loc, first.getType(),
                                              first.getName());
    auto copy = gpu::AllocOp::create(builder, loc, first.getType(),
                                     /*asyncToken=*/Type(), ValueRange(),
                                     ValueRange(), ValueRange(),
                                     /*hostShared=*/false);
    gpu::MemcpyOp::create(builder, loc, /*asyncToken=*/Type(), ValueRange(),
                          copy.getMemref(), global);
    for (memref::GetGlobalOp op : ops) {
      op.replaceAllUsesWith(copy.getMemref());
      op.erase();
    }
    for (Operation *ret : returns) {
      if (llvm::is_contained(ret->getOperands(), copy.getMemref()))
        continue;
      builder.setInsertionPoint(ret);
      gpu::DeallocOp::create(builder, loc, /*asyncToken=*/Type(), ValueRange(),
                             copy.getMemref());
    }
  }
}

namespace {

struct GPUDeviceBuffersPass
    : qat::impl::GPUDeviceBuffersBase<GPUDeviceBuffersPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    uploadConstants(func);
    RewritePatternSet patterns(&getContext());
    patterns.add<AllocToGPU, DeallocToGPU, CopyToGPU>(&getContext());
    if (failed(applyPatternsGreedily(func, std::move(patterns))))
      return signalPassFailure();

    // Whatever still reads or writes elements on the host would dereference
    // device pointers at run time.
    WalkResult result =
        func.walk<WalkOrder::PreOrder>([&](Operation *op) {
          if (isa<gpu::LaunchOp>(op))
            return WalkResult::skip();
          if (isa<memref::LoadOp, memref::StoreOp, linalg::LinalgOp>(op)) {
            op->emitOpError()
                << "reads or writes buffer elements on the host, but buffers "
                   "live in GPU memory: no GPU strategy mapped this operation";
            return WalkResult::interrupt();
          }
          return WalkResult::advance();
        });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
