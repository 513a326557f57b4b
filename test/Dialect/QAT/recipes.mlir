// RUN: qat-opt %s --allow-unregistered-dialect | FileCheck %s
// RUN: qat-opt %s --allow-unregistered-dialect | qat-opt --allow-unregistered-dialect | FileCheck %s

// Recipes and the discardable attributes of the training-graph passes print,
// parse and round-trip.

// CHECK-LABEL: func.func @recipes
// CHECK-SAME: (%{{.*}}: tensor<8x16xf32>, %{{.*}}: tensor<16x4xf32> {qat.param}, %{{.*}}: tensor<4x1xf32> {qat.step}, %{{.*}}: tensor<4x8xi8> {qat.codes})
func.func @recipes(%x: tensor<8x16xf32>, %w: tensor<16x4xf32> {qat.param},
                   %s: tensor<4x1xf32> {qat.step}, %c: tensor<4x8xi8> {qat.codes}) {
  // CHECK: "test.default"() {qat.recipe = #qat.quest}
  "test.default"() {qat.recipe = #qat.quest} : () -> ()
  // CHECK: "test.default_spelled"() {qat.recipe = #qat.quest}
  "test.default_spelled"() {qat.recipe = #qat.quest<bits = 4, block = 128>} : () -> ()
  // CHECK: "test.quest"() {qat.recipe = #qat.quest<bits = 3, block = 64>}
  "test.quest"() {qat.recipe = #qat.quest<bits = 3, block = 64>} : () -> ()
  // CHECK: "test.quest_block"() {qat.recipe = #qat.quest<block = 32>}
  "test.quest_block"() {qat.recipe = #qat.quest<block = 32>} : () -> ()
  // CHECK: "test.stableqat"() {qat.recipe = #qat.stableqat}
  "test.stableqat"() {qat.recipe = #qat.stableqat} : () -> ()
  // CHECK: "test.stableqat3"() {qat.recipe = #qat.stableqat<bits = 3, surrogate = #qat.fourier<[0.2, 0.01]>>}
  "test.stableqat3"() {qat.recipe = #qat.stableqat<bits = 3, surrogate = #qat.fourier<[0.2, 0.01]>>} : () -> ()
  // CHECK: "test.intn"() {qat.recipe = #qat.intn<estimator = #qat.ste, weights = #qat.quantizer<signed, 4 bits, absmax, per_group<32>>>}
  "test.intn"() {qat.recipe = #qat.intn<estimator = #qat.ste, weights = #qat.quantizer<signed, 4 bits, absmax, per_group<32>>>} : () -> ()
  // CHECK: "test.intn_act"() {qat.recipe = #qat.intn<estimator = #qat.clip, weights = #qat.quantizer<signed, 4 bits, rms_gaussian, per_row>, activations = #qat.quantizer<signed, 8 bits, absmax, per_tensor>>}
  "test.intn_act"() {qat.recipe = #qat.intn<estimator = #qat.clip, weights = #qat.quantizer<signed, 4 bits, rms_gaussian, per_row>, activations = #qat.quantizer<signed, 8 bits, absmax, per_tensor>>} : () -> ()
  // CHECK: "test.float"() {qat.recipe = #qat.keep_float}
  "test.float"() {qat.recipe = #qat.keep_float} : () -> ()
  return
}

// CHECK-LABEL: func.func @estimator
func.func @estimator(%x: tensor<4x16xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xi8> {
  // CHECK: qat.quantize %{{.*}}, %{{.*}} as <centered, 4 bits, rms_gaussian, per_row> packed {qat.estimator = #qat.trust<0.25>}
  %q = qat.quantize %x, %s as <centered, 4 bits, rms_gaussian, per_row> packed {qat.estimator = #qat.trust<0.25>}
      : tensor<4x16xf32>, tensor<4x1xf32> -> tensor<4x8xi8>
  return %q : tensor<4x8xi8>
}
