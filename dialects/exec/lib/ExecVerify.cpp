//===- ExecVerify.cpp - What a well-formed exec plan is -------------------===//
//
// Every rule the runtime's plan validation enforces that can be stated on the
// IR is checked here, with a message naming the buffer, binding or kernel, so a
// pass that breaks a plan fails at the pass and not at load time. Each message
// has a case in tests/lit/exec/invalid.mlir.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Exec/ExecDialect.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;

namespace kiln::exec {
namespace {

LogicalResult verifyExtents(Operation *op, llvm::ArrayRef<int32_t> extents, StringRef what) {
  if (extents.size() != 3)
    return op->emitOpError() << what << " has " << extents.size()
                             << " extents; expected 3 (x, y, z)";
  for (auto [axis, extent] : llvm::enumerate(extents))
    if (extent < 1)
      return op->emitOpError() << what << " extent "
                               << "xyz"[axis] << " is " << extent
                               << "; every extent must be at least 1";
  return success();
}

/// Checks that `buffer` is an exec.buffer of `role` holding a host tensor of `type`.
LogicalResult verifyTensorBuffer(Operation *op, StringRef name, Value buffer, Type type,
                                 BufferRole role, StringRef what) {
  BufferOp definition = bufferOf(buffer);
  if (!definition)
    return op->emitOpError() << what << " '" << name << "' must name an exec.buffer";
  if (definition.getRole() != role)
    return op->emitOpError() << what << " '" << name << "' must name a "
                             << stringifyBufferRole(role) << " buffer; '" << definition.getName()
                             << "' is " << stringifyBufferRole(definition.getRole());
  auto tensor = llvm::cast<RankedTensorType>(type);
  Type element = tensor.getElementType();
  if (!element.isF32() && !element.isInteger(32) && !element.isInteger(1))
    return op->emitOpError() << what << " '" << name << "' has element type " << element
                             << "; a plan exchanges f32, i32 and i1 tensors";
  uint64_t expected = hostTensorBytes(tensor);
  if (static_cast<uint64_t>(definition.getSize()) != expected)
    return op->emitOpError() << what << " '" << name << "' is " << tensor << " (" << expected
                             << " bytes) but buffer '" << definition.getName() << "' holds "
                             << definition.getSize();
  return success();
}

} // namespace

LogicalResult PlanOp::verifyRegions() {
  if (getTargets().empty())
    return emitOpError("names no target; expected one or more of \"vulkan\", \"cuda\", \"cpu\"");
  for (Attribute target : getTargets()) {
    StringRef name = llvm::cast<StringAttr>(target).getValue();
    if (name != "vulkan" && name != "cuda" && name != "cpu")
      return emitOpError("names unknown target '")
             << name << "'; expected \"vulkan\", \"cuda\" or \"cpu\"";
  }
  if (std::optional<DictionaryAttr> images = getCpuImages())
    for (NamedAttribute image : *images)
      if (!llvm::isa<StringAttr>(image.getValue()))
        return emitOpError("has a cpu image for '")
               << image.getName().getValue() << "' that is not a string of bytes";
  if (std::optional<int64_t> alignment = getAlignment())
    if (*alignment <= 0 || (*alignment & (*alignment - 1)) != 0)
      return emitOpError("has alignment ") << *alignment << ", not a power of two";

  llvm::StringSet<> inputs, variables;
  llvm::DenseMap<Value, Operation *> interfaceOf;
  bool sawProgram = false;
  for (Operation &op : getBlock()) {
    if (!llvm::isa<BufferOp, KernelOp, InputOp, VariableOp, ProgramOp>(op))
      return op.emitOpError("cannot be part of an exec.plan; it holds buffers, kernels, "
                            "inputs, variables and programs");
    auto claim = [&](Value buffer, StringRef what, StringRef name) -> LogicalResult {
      auto [known, inserted] = interfaceOf.try_emplace(buffer, &op);
      if (inserted)
        return success();
      return op.emitOpError() << what << " '" << name << "' names a buffer that "
                              << known->second->getName() << " already names";
    };
    if (auto buffer = llvm::dyn_cast<BufferOp>(op)) {
      if (std::optional<int64_t> offset = buffer.getOffset()) {
        std::optional<int64_t> arena = getArenaBytes(), alignment = getAlignment();
        if (!arena || !alignment)
          return buffer.emitOpError("has an arena offset but the plan has no arena (its "
                                    "arena_bytes and alignment are unset)");
        if (*offset % *alignment != 0)
          return buffer.emitOpError("offset ")
                 << *offset << " is not a multiple of the plan's alignment " << *alignment;
        if (*offset + buffer.getSize() > *arena)
          return buffer.emitOpError("occupies bytes [")
                 << *offset << ", " << *offset + buffer.getSize() << ") but the arena is " << *arena
                 << " bytes";
      }
    } else if (auto input = llvm::dyn_cast<InputOp>(op)) {
      if (!inputs.insert(input.getName()).second)
        return input.emitOpError("declares input '") << input.getName() << "' a second time";
      if (failed(claim(input.getBuffer(), "input", input.getName())))
        return failure();
    } else if (auto variable = llvm::dyn_cast<VariableOp>(op)) {
      if (!variables.insert(variable.getName()).second)
        return variable.emitOpError("declares variable '")
               << variable.getName() << "' a second time";
      if (failed(claim(variable.getBuffer(), "variable", variable.getName())))
        return failure();
    } else if (auto program = llvm::dyn_cast<ProgramOp>(op)) {
      if (!sawProgram && program.getSymName() != "train")
        return program.emitOpError("is the plan's first program, which must be @train (the "
                                   "training step)");
      sawProgram = true;
      for (Attribute name : program.getInputs())
        if (!inputs.contains(llvm::cast<StringAttr>(name).getValue()))
          return program.emitOpError("reads input '")
                 << llvm::cast<StringAttr>(name).getValue()
                 << "', which the plan does not declare before it";
      for (auto output : program.getBlock().getOps<OutputOp>())
        if (failed(claim(output.getBuffer(), "output", output.getName())))
          return failure();
    }
  }
  if (!sawProgram)
    return emitOpError("has no exec.program; a plan needs at least @train");
  return success();
}

LogicalResult BufferOp::verify() {
  int64_t size = getSizeAttr().getInt();
  if (size <= 0 || size % 4 != 0)
    return emitOpError("size ") << size << " is not a positive multiple of 4 bytes";
  if (getOffset() && getRole() != BufferRole::transient)
    return emitOpError("has an arena offset but only transient buffers live in the arena; "
                       "this one is ")
           << stringifyBufferRole(getRole());
  if (getOffset() && getOffsetAttr().getInt() < 0)
    return emitOpError("offset ") << getOffsetAttr().getInt() << " is negative";
  if (getRole() == BufferRole::constant) {
    if (!getData())
      return emitOpError("is a constant buffer without its data");
    if (static_cast<int64_t>(getData()->size()) * 4 != getSize())
      return emitOpError("data holds ")
             << getData()->size() * 4 << " bytes but the buffer is " << getSize();
  } else if (getData()) {
    return emitOpError("has data but is ")
           << stringifyBufferRole(getRole()) << "; only constant buffers carry data";
  }
  return success();
}

LogicalResult KernelOp::verify() {
  if (failed(verifyExtents(*this, getWorkgroup(), "workgroup")))
    return failure();
  if (getWritten().empty())
    return emitOpError("has no bindings; a kernel writes at least one buffer");
  if (llvm::none_of(getWritten(), [](bool written) { return written; }))
    return emitOpError("writes none of its ") << getWritten().size() << " bindings";
  if (std::optional<llvm::ArrayRef<int32_t>> pairs = getInPlace()) {
    if (pairs->size() % 2 != 0)
      return emitOpError("in_place holds ")
             << pairs->size() << " values; expected (output, input) pairs";
    for (size_t index = 0; index < pairs->size(); index += 2) {
      int32_t output = (*pairs)[index], input = (*pairs)[index + 1];
      int32_t count = static_cast<int32_t>(getBindingCount());
      if (output < 0 || output >= count || input < 0 || input >= count)
        return emitOpError("in-place pair (")
               << output << ", " << input << ") names a binding outside 0.." << count - 1;
      if (!writes(output) || writes(input))
        return emitOpError("in-place pair (")
               << output << ", " << input << ") must pair a written binding with a read one";
    }
  }
  if (IntegerAttr size = getPushConstantSizeAttr())
    if (size.getInt() < 0 || size.getInt() % 4 != 0)
      return emitOpError("push_constant_size ") << size.getInt() << " is not a multiple of 4 bytes";
  if (std::optional<int64_t> tiles = getCpuTileCount())
    if (*tiles < 1 || *tiles > UINT32_MAX)
      return emitOpError("cpu_tile_count ") << *tiles << " is outside 1..2^32-1";
  if (std::optional<ArrayAttr> entries = getCpuEntries())
    for (Attribute attr : *entries) {
      auto entry = llvm::dyn_cast<DictionaryAttr>(attr);
      auto isa = entry ? entry.getAs<StringAttr>("isa") : StringAttr();
      auto offset = entry ? entry.getAs<IntegerAttr>("offset") : IntegerAttr();
      auto tiles = entry ? entry.getAs<IntegerAttr>("tile_count") : IntegerAttr();
      auto scratch = entry ? entry.getAs<IntegerAttr>("scratch_bytes") : IntegerAttr();
      if (!isa || !offset || !tiles || !scratch || offset.getInt() < 0 || tiles.getInt() < 1 ||
          tiles.getInt() > UINT32_MAX || scratch.getInt() < 0)
        return emitOpError("has a cpu entry ")
               << attr
               << " that is not {isa = \"...\", offset >= 0, tile_count >= 1, scratch_bytes >= 0}";
    }
  if (std::optional<StringRef> spirv = getSpirv())
    if (spirv->empty() || spirv->size() % 4 != 0)
      return emitOpError("spirv holds ")
             << spirv->size() << " bytes; SPIR-V is a non-empty list of 32-bit words";
  if (std::optional<DictionaryAttr> ptx = getPtx())
    for (NamedAttribute entry : *ptx)
      if (!llvm::isa<StringAttr>(entry.getValue()) || !entry.getName().strref().starts_with("sm_"))
        return emitOpError("ptx entry '")
               << entry.getName().strref() << "' must map an sm_* architecture to PTX text";
  return success();
}

Operation *KernelOp::getCodeModule() {
  std::optional<StringRef> code = getCode();
  Operation *plan = (*this)->getParentOp();
  if (!code || !plan || !plan->getParentOp())
    return nullptr;
  return SymbolTable::lookupSymbolIn(plan->getParentOp(), *code);
}

LogicalResult KernelOp::verifySymbolUses(SymbolTableCollection &) {
  if (std::optional<StringRef> cpu = getCpuCode()) {
    Operation *plan = (*this)->getParentOp();
    Operation *module = plan && plan->getParentOp()
                            ? SymbolTable::lookupSymbolIn(plan->getParentOp(), *cpu)
                            : nullptr;
    if (!module || !llvm::isa<ModuleOp>(module))
      return emitOpError("cpu_code @") << *cpu << " names no builtin.module beside the plan";
  }
  if (!getCode())
    return success();
  Operation *module = getCodeModule();
  if (!module || module->getName().getStringRef() != "gpu.module")
    return emitOpError("code @") << *getCode() << " names no gpu.module beside the plan";
  return success();
}

LogicalResult InputOp::verify() {
  if (failed(
          verifyTensorBuffer(*this, getName(), getBuffer(), getType(), BufferRole::input, "input")))
    return failure();
  if (std::optional<ElementsAttr> value = getDefaultValue())
    if (value->getType() != getType())
      return emitOpError("input '") << getName() << "' has a default value of type "
                                    << value->getType() << " but is " << getType();
  return success();
}

LogicalResult VariableOp::verify() {
  if (llvm::cast<RankedTensorType>(getType()).getElementType().isInteger(1))
    return emitOpError("variable '")
           << getName() << "' is i1; variables hold f32 or i32 (kernels read masks as words)";
  return verifyTensorBuffer(*this, getName(), getBuffer(), getType(), BufferRole::variable,
                            "variable");
}

LogicalResult OutputOp::verify() {
  return verifyTensorBuffer(*this, getName(), getBuffer(), getType(), BufferRole::output, "output");
}

LogicalResult ProgramOp::verify() {
  llvm::StringSet<> inputs, outputs;
  for (Attribute name : getInputs())
    if (!inputs.insert(llvm::cast<StringAttr>(name).getValue()).second)
      return emitOpError("lists input '") << llvm::cast<StringAttr>(name).getValue() << "' twice";
  for (Operation &op : getBlock()) {
    if (!llvm::isa<DispatchOp, CopyOp, BarrierOp, OutputOp>(op))
      return op.emitOpError("cannot be part of an exec.program; it holds dispatches, copies, "
                            "barriers and outputs");
    if (auto output = llvm::dyn_cast<OutputOp>(op))
      if (!outputs.insert(output.getName()).second)
        return output.emitOpError("names output '")
               << output.getName() << "' a second time in @" << getSymName();
  }
  return success();
}

LogicalResult DispatchOp::verifySymbolUses(SymbolTableCollection &symbols) {
  auto plan = (*this)->getParentOfType<PlanOp>();
  auto kernel = symbols.lookupSymbolIn<KernelOp>(plan, getKernelAttr());
  if (!kernel)
    return emitOpError("dispatches @")
           << getKernel() << ", which is not an exec.kernel of the plan";
  if (getBuffers().size() != kernel.getBindingCount())
    return emitOpError("binds ") << getBuffers().size() << " buffers but @" << getKernel()
                                 << " has " << kernel.getBindingCount() << " bindings";
  for (unsigned binding = 0; binding < kernel.getBindingCount(); ++binding)
    if (getWritten()[binding] != kernel.writes(binding))
      return emitOpError("marks binding ")
             << binding << " '" << (getWritten()[binding] ? "write" : "read") << "' but @"
             << getKernel() << " " << (kernel.writes(binding) ? "writes" : "only reads") << " it";
  if (std::optional<llvm::ArrayRef<int32_t>> push = getPushConstants()) {
    int64_t declared = kernel.getPushConstantSize().value_or(0);
    if (static_cast<int64_t>(push->size()) * 4 > declared)
      return emitOpError("pushes ") << push->size() * 4 << " bytes of constants but @"
                                    << getKernel() << " declares " << declared;
  }
  return success();
}

LogicalResult DispatchOp::verify() {
  if (getWritten().size() != getBuffers().size())
    return emitOpError("has ") << getWritten().size() << " access markers for "
                               << getBuffers().size() << " buffers";
  for (auto [binding, buffer] : llvm::enumerate(getBuffers()))
    if (!bufferOf(buffer))
      return emitOpError("binding ") << binding << " is not an exec.buffer";
  return verifyExtents(*this, getGroups(), "groups");
}

LogicalResult CopyOp::verify() {
  if (getSource() == getTarget())
    return emitOpError("copies a buffer onto itself");
  int64_t size = getSizeAttr().getInt();
  if (size <= 0 || size % 4 != 0)
    return emitOpError("size ") << size << " is not a positive multiple of 4 bytes";
  for (Value buffer : {getSource(), getTarget()}) {
    BufferOp definition = bufferOf(buffer);
    if (!definition)
      return emitOpError("copies between values that are not exec.buffers");
    if (getSize() > definition.getSize())
      return emitOpError("copies ") << getSize() << " bytes but '" << definition.getName()
                                    << "' holds " << definition.getSize();
  }
  return success();
}

} // namespace kiln::exec
