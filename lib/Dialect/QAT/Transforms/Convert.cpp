//===- Convert.cpp - qat-convert: inference on packed weights ---*- C++ -*-===//
#include "qat/Dialect/QAT/Transforms/Passes.h"
namespace mlir::qat {
#define GEN_PASS_DEF_QATCONVERT
#include "qat/Dialect/QAT/Transforms/Passes.h.inc"
} // namespace mlir::qat
namespace {
struct QATConvertPass : mlir::qat::impl::QATConvertBase<QATConvertPass> {
  using Base::Base;
  void runOnOperation() override {}
};
} // namespace
