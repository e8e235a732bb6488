//===- TypeText.h - Types as the shape rules' diagnostics print them ------===//
//
// Internal to the graph dialect's library: every shape rule and verifier
// names a type the same way ("tensor<2x3xf32>").
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT_GRAPH_LIB_TYPETEXT_H
#define KILN_DIALECT_GRAPH_LIB_TYPETEXT_H

#include "mlir/IR/Types.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace kiln::graph {

/// `type` as MLIR prints it.
inline std::string str(mlir::Type type) {
  std::string out;
  llvm::raw_string_ostream os(out);
  type.print(os);
  return out;
}

} // namespace kiln::graph

#endif // KILN_DIALECT_GRAPH_LIB_TYPETEXT_H
