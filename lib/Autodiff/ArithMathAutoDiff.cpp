//===- ArithMathAutoDiff.cpp - Reverse rules of arith and math ops --------===//
//
// The derivative of each scalar float op that linalg bodies (and scalar
// code around them) use. The rules emit arith/math ops on the adjoint's
// type, so they serve both inside the backward linalg.generic that the
// linalg rule builds and on scalars in a function body.
//
//===----------------------------------------------------------------------===//

#include "ExternalModels.h"

#include "qat/Autodiff/AutoDiffOpInterface.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;
using namespace mlir::qat;

namespace {

/// Builds arith/math ops on values of one float (or float tensor) type.
struct Emitter {
  OpBuilder &b;
  Location loc;
  Type type;

  Value cst(double v) { return createFloatConstant(b, loc, type, v); }
  Value add(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value div(Value x, Value y) { return arith::DivFOp::create(b, loc, x, y); }
  Value neg(Value x) { return arith::NegFOp::create(b, loc, x); }
  Value cmp(arith::CmpFPredicate p, Value x, Value y) {
    return arith::CmpFOp::create(b, loc, p, x, y);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }
};

/// Adds `contribution` to `operand`'s adjoint when it is active; `build` is
/// only called then, so that no IR is emitted for inactive operands.
template <typename Fn>
void contribute(AdjointState &state, OpBuilder &b, Value operand, Fn build) {
  if (state.isActive(operand))
    state.addAdjoint(b, operand, build());
}

// d(a + b) = (g, g); d(a - b) = (g, -g).
LogicalResult rule(arith::AddFOp op, Emitter &e, Value g, AdjointState &s) {
  contribute(s, e.b, op.getLhs(), [&] { return g; });
  contribute(s, e.b, op.getRhs(), [&] { return g; });
  return success();
}
LogicalResult rule(arith::SubFOp op, Emitter &e, Value g, AdjointState &s) {
  contribute(s, e.b, op.getLhs(), [&] { return g; });
  contribute(s, e.b, op.getRhs(), [&] { return e.neg(g); });
  return success();
}
LogicalResult rule(arith::MulFOp op, Emitter &e, Value g, AdjointState &s) {
  contribute(s, e.b, op.getLhs(), [&] { return e.mul(g, op.getRhs()); });
  contribute(s, e.b, op.getRhs(), [&] { return e.mul(g, op.getLhs()); });
  return success();
}
// y = a / b: da = g / b, db = -g * y / b.
LogicalResult rule(arith::DivFOp op, Emitter &e, Value g, AdjointState &s) {
  contribute(s, e.b, op.getLhs(), [&] { return e.div(g, op.getRhs()); });
  contribute(s, e.b, op.getRhs(), [&] {
    return e.neg(e.div(e.mul(g, op.getResult()), op.getRhs()));
  });
  return success();
}
LogicalResult rule(arith::NegFOp op, Emitter &e, Value g, AdjointState &s) {
  contribute(s, e.b, op.getOperand(), [&] { return e.neg(g); });
  return success();
}
// max/min: the gradient goes to the selected operand; on a tie to the
// second one (a subgradient; ties have measure zero on real data).
template <typename OpTy>
LogicalResult minMax(OpTy op, Emitter &e, Value g, AdjointState &s,
                     arith::CmpFPredicate firstWins) {
  Value lhs = op.getLhs(), rhs = op.getRhs();
  Value zero = e.cst(0.0);
  Value c = e.cmp(firstWins, lhs, rhs);
  contribute(s, e.b, lhs, [&] { return e.select(c, g, zero); });
  contribute(s, e.b, rhs, [&] { return e.select(c, zero, g); });
  return success();
}
LogicalResult rule(arith::MaximumFOp op, Emitter &e, Value g, AdjointState &s) {
  return minMax(op, e, g, s, arith::CmpFPredicate::OGT);
}
LogicalResult rule(arith::MaxNumFOp op, Emitter &e, Value g, AdjointState &s) {
  return minMax(op, e, g, s, arith::CmpFPredicate::OGT);
}
LogicalResult rule(arith::MinimumFOp op, Emitter &e, Value g, AdjointState &s) {
  return minMax(op, e, g, s, arith::CmpFPredicate::OLT);
}
LogicalResult rule(arith::MinNumFOp op, Emitter &e, Value g, AdjointState &s) {
  return minMax(op, e, g, s, arith::CmpFPredicate::OLT);
}
// The condition (a cmpf, say) has no gradient: d select(c, t, f) goes to
// the taken branch.
LogicalResult rule(arith::SelectOp op, Emitter &e, Value g, AdjointState &s) {
  if (!isDifferentiableType(op.getType()))
    return success();
  Value zero = e.cst(0.0);
  contribute(s, e.b, op.getTrueValue(),
             [&] { return e.select(op.getCondition(), g, zero); });
  contribute(s, e.b, op.getFalseValue(),
             [&] { return e.select(op.getCondition(), zero, g); });
  return success();
}
LogicalResult rule(arith::ExtFOp op, Emitter &e, Value g, AdjointState &s) {
  contribute(s, e.b, op.getIn(), [&] {
    return arith::TruncFOp::create(e.b, e.loc, op.getIn().getType(), g);
  });
  return success();
}
LogicalResult rule(arith::TruncFOp op, Emitter &e, Value g, AdjointState &s) {
  contribute(s, e.b, op.getIn(), [&] {
    return arith::ExtFOp::create(e.b, e.loc, op.getIn().getType(), g);
  });
  return success();
}

LogicalResult rule(math::ExpOp op, Emitter &e, Value g, AdjointState &s) {
  contribute(s, e.b, op.getOperand(), [&] { return e.mul(g, op.getResult()); });
  return success();
}
LogicalResult rule(math::Exp2Op op, Emitter &e, Value g, AdjointState &s) {
  contribute(s, e.b, op.getOperand(), [&] {
    return e.mul(e.mul(g, op.getResult()), e.cst(std::log(2.0)));
  });
  return success();
}
LogicalResult rule(math::ExpM1Op op, Emitter &e, Value g, AdjointState &s) {
  contribute(s, e.b, op.getOperand(),
             [&] { return e.mul(g, e.add(op.getResult(), e.cst(1.0))); });
  return success();
}
LogicalResult rule(math::LogOp op, Emitter &e, Value g, AdjointState &s) {
  contribute(s, e.b, op.getOperand(),
             [&] { return e.div(g, op.getOperand()); });
  return success();
}
LogicalResult rule(math::Log2Op op, Emitter &e, Value g, AdjointState &s) {
  contribute(s, e.b, op.getOperand(), [&] {
    return e.div(g, e.mul(op.getOperand(), e.cst(std::log(2.0))));
  });
  return success();
}
LogicalResult rule(math::Log1pOp op, Emitter &e, Value g, AdjointState &s) {
  contribute(s, e.b, op.getOperand(),
             [&] { return e.div(g, e.add(op.getOperand(), e.cst(1.0))); });
  return success();
}
// tanh' = 1 - tanh^2.
LogicalResult rule(math::TanhOp op, Emitter &e, Value g, AdjointState &s) {
  contribute(s, e.b, op.getOperand(), [&] {
    Value y = op.getResult();
    return e.mul(g, e.sub(e.cst(1.0), e.mul(y, y)));
  });
  return success();
}
// erf' = 2/sqrt(pi) exp(-x^2); erfc' = -erf'.
static Value erfDerivative(Emitter &e, Value x) {
  Value ex = math::ExpOp::create(e.b, e.loc, e.neg(e.mul(x, x)));
  return e.mul(e.cst(2.0 / std::sqrt(M_PI)), ex);
}
LogicalResult rule(math::ErfOp op, Emitter &e, Value g, AdjointState &s) {
  contribute(s, e.b, op.getOperand(),
             [&] { return e.mul(g, erfDerivative(e, op.getOperand())); });
  return success();
}
LogicalResult rule(math::ErfcOp op, Emitter &e, Value g, AdjointState &s) {
  contribute(s, e.b, op.getOperand(), [&] {
    return e.neg(e.mul(g, erfDerivative(e, op.getOperand())));
  });
  return success();
}
// sqrt' = 1 / (2 sqrt(x)); rsqrt' = -x^(-3/2) / 2 = -rsqrt(x) / (2 x).
LogicalResult rule(math::SqrtOp op, Emitter &e, Value g, AdjointState &s) {
  contribute(s, e.b, op.getOperand(),
             [&] { return e.div(e.mul(g, e.cst(0.5)), op.getResult()); });
  return success();
}
LogicalResult rule(math::RsqrtOp op, Emitter &e, Value g, AdjointState &s) {
  contribute(s, e.b, op.getOperand(), [&] {
    return e.div(e.mul(g, e.mul(e.cst(-0.5), op.getResult())), op.getOperand());
  });
  return success();
}
// y = a^b: da = g b a^(b-1), db = g y log(a).
LogicalResult rule(math::PowFOp op, Emitter &e, Value g, AdjointState &s) {
  Value a = op.getLhs(), p = op.getRhs();
  contribute(s, e.b, a, [&] {
    Value pm1 = e.sub(p, e.cst(1.0));
    return e.mul(g, e.mul(p, math::PowFOp::create(e.b, e.loc, a, pm1)));
  });
  contribute(s, e.b, p, [&] {
    return e.mul(g, e.mul(op.getResult(), math::LogOp::create(e.b, e.loc, a)));
  });
  return success();
}
LogicalResult rule(math::AbsFOp op, Emitter &e, Value g, AdjointState &s) {
  contribute(s, e.b, op.getOperand(), [&] {
    Value sign =
        math::CopySignOp::create(e.b, e.loc, e.cst(1.0), op.getOperand());
    return e.mul(g, sign);
  });
  return success();
}
LogicalResult rule(math::SinOp op, Emitter &e, Value g, AdjointState &s) {
  contribute(s, e.b, op.getOperand(), [&] {
    return e.mul(g, math::CosOp::create(e.b, e.loc, op.getOperand()));
  });
  return success();
}
LogicalResult rule(math::CosOp op, Emitter &e, Value g, AdjointState &s) {
  contribute(s, e.b, op.getOperand(), [&] {
    return e.neg(e.mul(g, math::SinOp::create(e.b, e.loc, op.getOperand())));
  });
  return success();
}
LogicalResult rule(math::FmaOp op, Emitter &e, Value g, AdjointState &s) {
  contribute(s, e.b, op.getA(), [&] { return e.mul(g, op.getB()); });
  contribute(s, e.b, op.getB(), [&] { return e.mul(g, op.getA()); });
  contribute(s, e.b, op.getC(), [&] { return g; });
  return success();
}

template <typename OpTy>
struct ScalarReverse
    : public AutoDiffOpInterface::ExternalModel<ScalarReverse<OpTy>, OpTy> {
  LogicalResult reverse(Operation *op, OpBuilder &builder,
                        AdjointState &state) const {
    Value g = state.getAdjoint(op->getResult(0));
    if (!g)
      return success();
    Emitter e{builder, op->getLoc(), g.getType()};
    return rule(cast<OpTy>(op), e, g, state);
  }
};

template <typename... OpTys> void attach(MLIRContext *ctx) {
  (OpTys::template attachInterface<ScalarReverse<OpTys>>(*ctx), ...);
}

} // namespace

void mlir::qat::registerArithMathAutoDiffModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, arith::ArithDialect *) {
    attach<arith::AddFOp, arith::SubFOp, arith::MulFOp, arith::DivFOp,
           arith::NegFOp, arith::MaximumFOp, arith::MaxNumFOp,
           arith::MinimumFOp, arith::MinNumFOp, arith::SelectOp, arith::ExtFOp,
           arith::TruncFOp>(ctx);
  });
  registry.addExtension(+[](MLIRContext *ctx, math::MathDialect *) {
    attach<math::ExpOp, math::Exp2Op, math::ExpM1Op, math::LogOp, math::Log2Op,
           math::Log1pOp, math::TanhOp, math::ErfOp, math::ErfcOp, math::SqrtOp,
           math::RsqrtOp, math::PowFOp, math::AbsFOp, math::SinOp, math::CosOp,
           math::FmaOp>(ctx);
  });
}
