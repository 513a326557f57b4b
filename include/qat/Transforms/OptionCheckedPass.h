//===- OptionCheckedPass.h - Pass options checked on their own --*- C++ -*-===//
//
// A pass whose options are checked before it sees any IR: when a pipeline
// string sets them (the error names the pass and comes before any input is
// read) and again when it runs, for options set from C++.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_TRANSFORMS_OPTIONCHECKEDPASS_H
#define QAT_TRANSFORMS_OPTIONCHECKEDPASS_H

#include "mlir/Pass/Pass.h"

#include <string>

namespace mlir::qat {

/// `PassBase` (a TableGen-generated pass base of `Derived`) whose options
/// `Derived::checkOptions() const` checks: it returns what is wrong, or an
/// empty string.
template <typename Derived, typename PassBase>
class OptionCheckedPass : public PassBase {
public:
  using PassBase::PassBase;

  LogicalResult initializeOptions(
      StringRef options,
      function_ref<LogicalResult(const Twine &)> errorHandler) override {
    if (failed(PassBase::initializeOptions(options, errorHandler)))
      return failure();
    std::string error = derived().checkOptions();
    if (!error.empty())
      return errorHandler(this->getArgument() + ": " + error);
    return success();
  }

protected:
  /// False, after an error on the pass's operation, when the options are
  /// invalid.
  bool hasValidOptions() {
    std::string error = derived().checkOptions();
    if (error.empty())
      return true;
    this->getOperation()->emitError() << this->getArgument() << ": " << error;
    return false;
  }

private:
  const Derived &derived() const { return static_cast<const Derived &>(*this); }
};

} // namespace mlir::qat

#endif // QAT_TRANSFORMS_OPTIONCHECKEDPASS_H
