//===- GraphDialect.h - Kiln graph dialect ----------------------*- C++ -*-===//
//
// The graph dialect: a training step as static-shaped tensor ops. Include this
// header for the dialect, its attributes, ops and their interfaces
// (GraphInterfaces.td).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT_GRAPH_GRAPHDIALECT_H
#define KILN_DIALECT_GRAPH_GRAPHDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "kiln/Dialect/Graph/GraphDialect.h.inc"

namespace kiln::graph {
/// The variables of a module: graph.read reads them, graph.assign writes them.
struct VariableResource : public mlir::SideEffects::Resource::Base<VariableResource> {
  llvm::StringRef getName() final { return "graph.variables"; }
};
/// The step's host interface: inputs, outputs, the loss and gradients.
struct StepIOResource : public mlir::SideEffects::Resource::Base<StepIOResource> {
  llvm::StringRef getName() final { return "graph.step_io"; }
};
} // namespace kiln::graph
#include "kiln/Dialect/Graph/GraphEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "kiln/Dialect/Graph/GraphAttrs.h.inc"

#include "kiln/Dialect/Graph/ConvGeometry.h"
#include "kiln/Dialect/Graph/GraphInterfaces.h"
#include "kiln/Dialect/Graph/GraphInterfaces.h.inc"

#define GET_OP_CLASSES
#include "kiln/Dialect/Graph/GraphOps.h.inc"

#endif // KILN_DIALECT_GRAPH_GRAPHDIALECT_H
