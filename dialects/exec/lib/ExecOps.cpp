//===- ExecOps.cpp - Kiln exec dialect: registration and syntax -----------===//
//
// The dialect's registration, the custom syntax of binding lists
// (`bindings(write, read)` on a kernel, `(write %t, read %w)` on a dispatch) and
// the names buffers get in printed IR (their plan names). The verifiers are in
// ExecVerify.cpp.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Exec/ExecDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;

namespace kiln::exec {
namespace {

ParseResult parseAccessKeyword(OpAsmParser &parser, bool &written) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword))
    return failure();
  if (keyword != "write" && keyword != "read")
    return parser.emitError(loc, "expected 'write' or 'read', found '") << keyword << "'";
  written = keyword == "write";
  return success();
}

StringRef accessKeyword(bool written) { return written ? "write" : "read"; }

} // namespace

/// `(write, read, read)`: each binding's access.
static ParseResult parseAccess(OpAsmParser &parser, DenseBoolArrayAttr &written) {
  llvm::SmallVector<bool> access;
  if (parser.parseCommaSeparatedList(OpAsmParser::Delimiter::Paren, [&]() {
        bool binding = false;
        if (parseAccessKeyword(parser, binding))
          return failure();
        access.push_back(binding);
        return success();
      }))
    return failure();
  written = parser.getBuilder().getDenseBoolArrayAttr(access);
  return success();
}

static void printAccess(OpAsmPrinter &printer, Operation *, DenseBoolArrayAttr written) {
  printer << "(";
  llvm::interleaveComma(written.asArrayRef(), printer,
                        [&](bool binding) { printer << accessKeyword(binding); });
  printer << ")";
}

/// `write %t, read %w`: the buffers of a dispatch, each with its binding's access.
static ParseResult parseBindings(OpAsmParser &parser,
                                 llvm::SmallVectorImpl<OpAsmParser::UnresolvedOperand> &buffers,
                                 DenseBoolArrayAttr &written) {
  llvm::SmallVector<bool> access;
  StringRef keyword;
  SMLoc loc = parser.getCurrentLocation();
  if (failed(parser.parseOptionalKeyword(&keyword))) {
    written = parser.getBuilder().getDenseBoolArrayAttr(access);
    return success(); // no bindings: the verifier says how many the kernel has
  }
  for (;;) {
    if (keyword != "write" && keyword != "read")
      return parser.emitError(loc, "expected 'write' or 'read', found '") << keyword << "'";
    access.push_back(keyword == "write");
    buffers.emplace_back();
    if (parser.parseOperand(buffers.back()))
      return failure();
    if (failed(parser.parseOptionalComma()))
      break;
    loc = parser.getCurrentLocation();
    if (parser.parseKeyword(&keyword))
      return failure();
  }
  written = parser.getBuilder().getDenseBoolArrayAttr(access);
  return success();
}

static void printBindings(OpAsmPrinter &printer, Operation *, OperandRange buffers,
                          DenseBoolArrayAttr written) {
  for (auto [index, buffer] : llvm::enumerate(buffers)) {
    if (index > 0)
      printer << ", ";
    bool binding = index < written.size() && written[index];
    printer << accessKeyword(binding) << " " << buffer;
  }
}

Attribute InitAttr::parse(AsmParser &parser, Type) {
  StringRef keyword;
  double a = 0, b = 0;
  uint64_t seed = 0, stream = 0;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess() || parser.parseKeyword(&keyword))
    return {};
  std::optional<Distribution> distribution = symbolizeDistribution(keyword);
  if (!distribution) {
    parser.emitError(loc, "unknown distribution '")
        << keyword << "'; expected constant, uniform or normal";
    return {};
  }
  if (parser.parseLParen() || parser.parseFloat(a) || parser.parseComma() || parser.parseFloat(b) ||
      parser.parseRParen() || parser.parseComma() || parser.parseKeyword("seed") ||
      parser.parseEqual() || parser.parseInteger(seed) || parser.parseComma() ||
      parser.parseKeyword("stream") || parser.parseEqual() || parser.parseInteger(stream) ||
      parser.parseGreater())
    return {};
  return InitAttr::get(parser.getContext(), *distribution, APFloat(a), APFloat(b), seed, stream);
}

void InitAttr::print(AsmPrinter &printer) const {
  printer << "<" << stringifyDistribution(getDistribution()) << "(";
  printer.printFloat(getA());
  printer << ", ";
  printer.printFloat(getB());
  printer << "), seed = " << getSeed() << ", stream = " << getStream() << ">";
}

void BufferOp::getAsmResultNames(function_ref<void(Value, StringRef)> setNameFn) {
  setNameFn(getResult(), getName());
}

BufferOp bufferOf(Value value) { return value.getDefiningOp<BufferOp>(); }

uint64_t hostTensorBytes(RankedTensorType type) {
  uint64_t elements = static_cast<uint64_t>(type.getNumElements());
  uint64_t bytes = type.getElementType().isInteger(1) ? elements : elements * 4;
  return (bytes + 3) / 4 * 4;
}

} // namespace kiln::exec

#include "kiln/Dialect/Exec/ExecDialect.cpp.inc"
#include "kiln/Dialect/Exec/ExecEnums.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "kiln/Dialect/Exec/ExecTypes.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "kiln/Dialect/Exec/ExecAttrs.cpp.inc"

#define GET_OP_CLASSES
#include "kiln/Dialect/Exec/ExecOps.cpp.inc"

namespace kiln::exec {

void ExecDialect::initialize() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "kiln/Dialect/Exec/ExecTypes.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "kiln/Dialect/Exec/ExecAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "kiln/Dialect/Exec/ExecOps.cpp.inc"
      >();
}

} // namespace kiln::exec
