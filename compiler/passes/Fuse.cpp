//===- Fuse.cpp - kiln-fuse: forming kernels from graph ops ---------------===//
//
// Kernel formation in three steps, per program (func @step, @eval, ...):
//
//  Ops are classified by their interfaces (GraphInterfaces.td), never by name:
//  elementwise payloads, index views, and iteration spaces (contraction,
//  reduction, row).
//
//  1. Vertical grouping, in program order. Matmuls, reductions and row ops
//     (softmax family) anchor groups; an elementwise op joins the group of
//     one of its producers when it reads every value of that group at its
//     own index (so one thread computes it from values it already holds),
//     the group's kind takes an op at that shape (a matmul's or reduction's
//     result shape: an epilogue; a reduction's operand shape: a prologue),
//     and no other producer group depends on that group (no cycle). A
//     reduction absorbs the elementwise group that produces its operand. A
//     row reduction (along the last axis) whose per-row value is read back
//     along the row through a broadcast becomes a row kernel, which further
//     row reductions of its elements join (a layer norm is one kernel).
//     Views (broadcast, transpose, one_hot, splat constants) are not grouped:
//     each kernel that reads one recomputes it from its source, which is an
//     index computation; a view some non-elementwise consumer needs in
//     memory becomes a pointwise kernel of its own.
//     A group never grows past the binding budget (max-bindings buffers read
//     or written): a long chain becomes several kernels, not one kernel with
//     a binding per intermediate the backward pass keeps.
//  2. Horizontal merging: independent pointwise groups (no path between
//     them in the group graph) merge into multi-tensor kernels while the
//     union of their buffers fits the binding budget.
//  3. Outlining: each group becomes a private func.func with a typed
//     `graph.kernel` attribute (#graph.kernel<kind, layers, ops>), called from the program; the
//     program's ops are reordered topologically (stable), since a merged kernel runs once all its
//     parts' inputs exist.
//
//===----------------------------------------------------------------------===//

#include "kiln/Compiler/Passes.h"
#include "kiln/Dialect/Graph/GraphDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallSet.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kiln {
#define GEN_PASS_DEF_FUSE
#include "kiln/Compiler/Passes.h.inc"

using namespace mlir;
using namespace kiln::graph;

namespace {

enum class OpClass { Interface, View, Elementwise, Matmul, Reduction, Row, Attention };

enum class GroupKind { Pointwise, Matmul, Reduction, Row, Attention };

/// Where in its group a value lives: the iteration space one thread covers.
enum class Space {
  Main,    // pointwise groups: the group's shape; matmuls: the product's shape
  Operand, // reductions: the operand's shape (prologue); rows: one element of the row
  Result,  // reductions: the result's shape (epilogue); rows: one row
};

/// What an op is, from its interfaces. A view that aliases its operand's storage (a
/// reshape) stays in the program as an interface op: it renames a buffer, no kernel
/// recomputes it.
OpClass classify(Operation *op) {
  // Fused attention is a kernel of its own (AttentionKernel.cpp), one op per kernel.
  if (llvm::isa<AttentionOp, AttentionGradOp>(op))
    return OpClass::Attention;
  if (llvm::isa<ElementwiseOpInterface>(op))
    return OpClass::Elementwise;
  if (auto view = llvm::dyn_cast<IndexViewOpInterface>(op))
    return view.isIndexView() && !view.aliasesOperand() ? OpClass::View : OpClass::Interface;
  if (auto iterating = llvm::dyn_cast<IterationSpaceOpInterface>(op)) {
    switch (iterating.getIterationSpace().kind) {
    case IterationKind::Contraction:
      return OpClass::Matmul;
    case IterationKind::Reduction:
      return OpClass::Reduction;
    case IterationKind::Row:
      return OpClass::Row;
    }
  }
  return OpClass::Interface;
}

/// Whether `op`'s result aliases its operand's buffer (a reshape).
bool aliasesOperand(Operation *op) {
  auto view = llvm::dyn_cast<IndexViewOpInterface>(op);
  return view && view.aliasesOperand();
}

/// The shape of the rows `op` runs along when it is a row computation or a reduction over
/// exactly the last axis of a tensor of rank 2 or more (a row reduction); empty otherwise.
llvm::SmallVector<int64_t> rowShapeOf(Operation *op) {
  auto iterating = llvm::dyn_cast<IterationSpaceOpInterface>(op);
  if (!iterating)
    return {};
  IterationSpace space = iterating.getIterationSpace();
  int64_t rank = static_cast<int64_t>(space.extents.size());
  if (space.kind == IterationKind::Row) {
    if (llvm::cast<RowOpInterface>(op).getRowAxis() != rank - 1)
      return {};
    return llvm::SmallVector<int64_t>(space.extents);
  }
  if (space.kind == IterationKind::Reduction && op->getNumOperands() == 1 && rank >= 2 &&
      space.reducedDims() == llvm::SmallVector<int64_t>{rank - 1})
    return llvm::SmallVector<int64_t>(space.extents);
  return {};
}

/// Whether `view` reads its operand's element at the same row of `rowShape`: a broadcast
/// (or other view) from the row values [..., rows] to the row's elements [..., rows, length]
/// whose index map drops exactly the last dimension.
bool readsSameRow(Operation *view, llvm::ArrayRef<int64_t> rowShape) {
  auto indexView = llvm::dyn_cast<IndexViewOpInterface>(view);
  if (!indexView || view->getNumOperands() != 1 || rowShape.empty() ||
      llvm::cast<ShapedType>(view->getResult(0).getType()).getShape() != rowShape)
    return false;
  AffineMap map = indexView.getOperandIndexMap(0);
  int64_t rank = static_cast<int64_t>(rowShape.size());
  return map &&
         map ==
             AffineMap::getMultiDimIdentityMap(rank, view->getContext()).getMajorSubMap(rank - 1);
}

llvm::StringRef kindName(GroupKind kind) {
  switch (kind) {
  case GroupKind::Pointwise:
    return "pointwise";
  case GroupKind::Matmul:
    return "matmul";
  case GroupKind::Reduction:
    return "reduction";
  case GroupKind::Row:
    return "row";
  case GroupKind::Attention:
    return "attention";
  }
  return "pointwise";
}

KernelKind kernelKind(GroupKind kind) {
  switch (kind) {
  case GroupKind::Pointwise:
    return KernelKind::pointwise;
  case GroupKind::Matmul:
    return KernelKind::matmul;
  case GroupKind::Reduction:
    return KernelKind::reduction;
  case GroupKind::Row:
    return KernelKind::row;
  case GroupKind::Attention:
    return KernelKind::attention;
  }
  return KernelKind::pointwise;
}

llvm::ArrayRef<int64_t> shapeOf(Value value) {
  return llvm::cast<ShapedType>(value.getType()).getShape();
}

/// The user's layer names in `loc`, outermost first ("optimizer", "fc1").
void collectLayers(Location loc, llvm::SetVector<llvm::StringRef> &layers) {
  loc->walk([&](Location inner) {
    if (auto name = llvm::dyn_cast<NameLoc>(inner))
      layers.insert(name.getName().getValue());
    return WalkResult::advance();
  });
}

struct Group {
  int id = 0;
  GroupKind kind = GroupKind::Pointwise;
  Operation *anchor = nullptr; // the matmul, reduction or (first) row op
  llvm::SmallVector<Operation *> ops;
  llvm::SmallVector<int64_t> shape; // pointwise: the group's shape
  /// Row and row-reduction groups: the shape of the rows' elements (Space::Operand); the
  /// per-row values (Space::Result) have it without the last dimension.
  llvm::SmallVector<int64_t> rowShape;
  bool horizontal = false; // a merged multi-tensor group
};

class KernelFormer {
public:
  KernelFormer(func::FuncOp program, const FuseOptions &options, SymbolTable &symbols,
               llvm::StringSet<> &usedNames)
      : program_(program), options_(options), symbols_(symbols), usedNames_(usedNames) {}

  struct Counts {
    int kernels = 0, fusedOps = 0, epilogues = 0, prologues = 0, horizontal = 0, refused = 0;
  };

  LogicalResult run(Counts &counts) {
    Block &body = program_.getBody().front();
    int position = 0;
    for (Operation &op : body)
      position_[&op] = position++;
    indexSources(body);

    for (Operation &op : body) {
      switch (classify(&op)) {
      case OpClass::Interface:
      case OpClass::View:
        break;
      case OpClass::Elementwise:
        placeElementwise(&op, counts);
        break;
      case OpClass::Matmul:
        newGroup(GroupKind::Matmul, &op);
        break;
      case OpClass::Attention:
        newGroup(GroupKind::Attention, &op);
        break;
      case OpClass::Reduction:
        placeReduction(&op, counts);
        break;
      case OpClass::Row:
        placeRow(&op, counts);
        break;
      }
    }
    materializeViews();
    if (!options_.noFusion)
      mergeHorizontally(counts);
    return outline(counts);
  }

private:
  //===--------------------------------------------------------------------===//
  // Groups and their dependences
  //===--------------------------------------------------------------------===//

  Group *newGroup(GroupKind kind, Operation *anchor) {
    groups_.push_back(std::make_unique<Group>());
    Group *group = groups_.back().get();
    group->id = static_cast<int>(groups_.size()) - 1;
    group->kind = kind;
    group->anchor = kind == GroupKind::Pointwise ? nullptr : anchor;
    selfParts_.push_back({group});
    bool perRow = kind == GroupKind::Row && llvm::cast<RowOpInterface>(anchor).isPerRow();
    add(group, anchor,
        kind == GroupKind::Pointwise || kind == GroupKind::Matmul || kind == GroupKind::Attention
            ? Space::Main
        : kind == GroupKind::Row && !perRow ? Space::Operand
                                            : Space::Result);
    if (kind == GroupKind::Row || kind == GroupKind::Reduction)
      group->rowShape = rowShapeOf(anchor);
    if (kind == GroupKind::Pointwise)
      group->shape.assign(shapeOf(anchor->getResult(0)).begin(),
                          shapeOf(anchor->getResult(0)).end());
    return group;
  }

  void add(Group *group, Operation *op, Space space) {
    group->ops.push_back(op);
    groupOf_[op] = group;
    spaceOf_[op] = space;
  }

  /// The group that computes `value` in memory or in registers, or null for values from
  /// interface ops and views (whose own sources are followed by collectSources).
  Group *groupOfValue(Value value) const {
    Operation *def = value.getDefiningOp();
    return def ? groupOf_.lookup(def) : nullptr;
  }

  /// Whether `consumer` recomputes a view operand itself rather than reading it from memory.
  static bool clonesViews(Operation *consumer) {
    OpClass consumerClass = classify(consumer);
    return consumerClass == OpClass::Elementwise || consumerClass == OpClass::View ||
           consumerClass == OpClass::Reduction;
  }

  /// The ops whose values `consumer` needs to read `value`: its defining op, or, through a
  /// reshape or a view `consumer` recomputes, their sources. Independent of the grouping.
  void collectSources(Value value, Operation *consumer,
                      llvm::SmallVectorImpl<Operation *> &out) const {
    Operation *def = value.getDefiningOp();
    if (!def)
      return;
    // A reshape stays outside kernels (it aliases its operand's buffer) but still depends on it.
    if (aliasesOperand(def)) {
      collectSources(def->getOperand(0), def, out);
      return;
    }
    if (classify(def) == OpClass::View && clonesViews(consumer)) {
      for (Value operand : def->getOperands())
        collectSources(operand, def, out);
      return;
    }
    out.push_back(def);
  }

  /// Records every op's sources and, inverted, the readers of every op (run() calls this
  /// once: the queries below only look these up).
  void indexSources(Block &body) {
    for (Operation &op : body) {
      llvm::SmallVector<Operation *> found;
      for (Value operand : op.getOperands())
        collectSources(operand, &op, found);
      llvm::SmallSetVector<Operation *, 4> unique(found.begin(), found.end());
      for (Operation *source : unique)
        readersOf_[source].push_back(&op);
      sourcesOf_[&op].assign(unique.begin(), unique.end());
    }
  }

  /// Groups `op` reads from (through the views it recomputes), as merged, in operand order.
  llvm::SmallSetVector<Group *, 4> producerGroups(Operation *op) const {
    llvm::SmallSetVector<Group *, 4> producers;
    auto sources = sourcesOf_.find(op);
    if (sources == sourcesOf_.end())
      return producers;
    for (Operation *source : sources->second)
      if (Group *group = groupOf_.lookup(source))
        producers.insert(find(group));
    return producers;
  }

  /// Walks the groups that read (directly or through other groups) a value of `target`,
  /// each once, until `visit` returns true; returns whether it did.
  /// An op no group owns (an interface op, or a view not yet materialized while groups
  /// form) passes the dependence on to its own readers.
  bool walkReaders(Group *target, llvm::function_ref<bool(Group *)> visit) const {
    llvm::SmallVector<Group *> stack{target};
    llvm::DenseSet<Group *> seen{target};
    llvm::DenseSet<Operation *> passedThrough;
    while (!stack.empty()) {
      Group *group = stack.pop_back_val();
      llvm::SmallVector<Operation *> pending;
      for (Group *part : partsOf(group))
        pending.append(part->ops.begin(), part->ops.end());
      while (!pending.empty()) {
        Operation *op = pending.pop_back_val();
        auto readers = readersOf_.find(op);
        if (readers == readersOf_.end())
          continue;
        for (Operation *reader : readers->second) {
          Group *consumer = groupOf_.lookup(reader);
          if (!consumer) {
            if (passedThrough.insert(reader).second)
              pending.push_back(reader);
            continue;
          }
          if ((consumer = find(consumer)) == group)
            continue;
          if (seen.insert(consumer).second) {
            if (visit(consumer))
              return true;
            stack.push_back(consumer);
          }
        }
      }
    }
    return false;
  }

  /// Whether `from` reads (directly or through other groups) a value of `target`. The search
  /// runs from `target` along its readers: groups form in program order, so while they do,
  /// the ops after the one being placed have no group and the search stays short, where one
  /// from `from` along its producers would walk the whole program before it.
  bool dependsOn(Group *from, Group *target) const {
    return walkReaders(target, [&](Group *reader) { return reader == from; });
  }

  /// Whether some third group both reads `group` and is read by it (merging into `group`
  /// closed a cycle through it).
  bool closesCycle(Group *group) const {
    return walkReaders(group, [&](Group *reader) { return dependsOn(group, reader); });
  }

  Group *find(Group *group) const {
    while (Group *parent = mergedInto_.lookup(group))
      group = parent;
    return group;
  }

  void refuse(Operation *op, Counts &counts, const llvm::Twine &why) {
    ++counts.refused;
    if (options_.explain)
      op->emitRemark() << "not fused: " << why;
  }

  //===--------------------------------------------------------------------===//
  // Vertical grouping
  //===--------------------------------------------------------------------===//

  /// Whether `view` (a view op's result) reads, through views, a value of `group`.
  bool viewReads(Value value, Group *group) const {
    Operation *def = value.getDefiningOp();
    if (!def)
      return false;
    if (classify(def) == OpClass::View)
      return llvm::any_of(def->getOperands(), [&](Value v) { return viewReads(v, group); });
    Group *owner = groupOf_.lookup(def);
    return owner && find(owner) == group;
  }

  /// Whether `view` broadcasts a per-row value of row-capable `group` back along the row
  /// (so the thread holding a row element reads its own row's value).
  bool isRowBroadcast(Operation *view, Group *group) const {
    if (group->rowShape.empty() || view->getNumOperands() != 1)
      return false;
    Operation *source = view->getOperand(0).getDefiningOp();
    Group *owner = source ? groupOf_.lookup(source) : nullptr;
    return owner && find(owner) == group && spaceOf_.lookup(source) == Space::Result &&
           readsSameRow(view, group->rowShape);
  }

  /// Why elementwise `op` cannot join `group`, or empty when it can (then `space` says where,
  /// and `readsRow` whether it reads a per-row value broadcast along the row).
  std::string whyNotJoin(Operation *op, Group *group, Space &space, bool &readsRow) const {
    bool haveSpace = false;
    readsRow = false;
    for (Value operand : op->getOperands()) {
      Operation *def = operand.getDefiningOp();
      Group *owner = def && classify(def) != OpClass::View ? groupOf_.lookup(def) : nullptr;
      if (owner && find(owner) == group) {
        Space operandSpace = spaceOf_.lookup(def);
        if (haveSpace && operandSpace != space)
          return "it reads values of the kernel at two different shapes";
        space = operandSpace;
        haveSpace = true;
        if (shapeOf(operand) != shapeOf(op->getResult(0)))
          return "it reads a kernel value at another shape";
        continue;
      }
      if (def && classify(def) == OpClass::View && viewReads(operand, group)) {
        if (isRowBroadcast(def, group)) {
          if (haveSpace && space != Space::Operand)
            return "it reads values of the kernel at two different shapes";
          space = Space::Operand;
          haveSpace = readsRow = true;
          continue;
        }
        if (!group->rowShape.empty())
          return "it reads a kernel value through a view other than a broadcast of its own "
                 "row's value along the row (another row's element)";
        return "it reads a kernel value through a broadcast or transpose (another thread's "
               "element)";
      }
    }
    if (!haveSpace)
      return "it reads no value of the kernel";
    if (group->kind == GroupKind::Attention)
      return "an attention kernel holds its attention op alone";
    if (group->kind == GroupKind::Matmul && space != Space::Main)
      return "not at the product's shape";
    if (bindingsOf(group, op).size() > options_.maxBindings)
      return (llvm::Twine("the kernel would bind more than ") + llvm::Twine(options_.maxBindings) +
              " buffers")
          .str();
    // Every other group this op reads must not itself depend on `group`.
    for (Group *producer : producerGroups(op))
      if (producer != group && dependsOn(producer, group))
        return (llvm::Twine("another of its inputs is computed from this kernel's results (") +
                kindName(producer->kind) + " kernel), so fusing would form a cycle")
            .str();
    return "";
  }

  void placeElementwise(Operation *op, Counts &counts) {
    if (options_.noFusion) {
      newGroup(GroupKind::Pointwise, op);
      return;
    }
    // Candidates: the groups of its direct operands, and the row-capable groups (row
    // kernels, row reductions) it reads through views, latest first: a row kernel may take
    // an op that reads its per-row values broadcast along the row.
    llvm::SmallVector<Group *> candidates;
    std::function<void(Value, bool)> consider = [&](Value value, bool throughView) {
      Operation *def = value.getDefiningOp();
      if (def && classify(def) == OpClass::View) {
        for (Value source : def->getOperands())
          consider(source, true);
        return;
      }
      Group *group = groupOfValue(value);
      if (group && (!throughView || !find(group)->rowShape.empty()) &&
          !llvm::is_contained(candidates, find(group)))
        candidates.push_back(find(group));
    };
    for (Value operand : op->getOperands())
      consider(operand, false);
    llvm::sort(candidates, [](Group *a, Group *b) { return a->id > b->id; });
    for (Group *group : candidates) {
      Space space = Space::Main;
      bool readsRow = false;
      std::string why = whyNotJoin(op, group, space, readsRow);
      if (why.empty()) {
        // A row reduction whose per-row value is read back along the row is a row kernel.
        if (readsRow)
          group->kind = GroupKind::Row;
        add(group, op, space);
        ++counts.fusedOps;
        if (group->kind != GroupKind::Pointwise)
          ++counts.epilogues;
        else
          absorbProducers(group, candidates, counts);
        return;
      }
      refuse(op, counts,
             llvm::Twine("into the ") + kindName(group->kind) + " kernel of " +
                 group->ops.front()->getName().getStringRef() + ": " + why);
    }
    newGroup(GroupKind::Pointwise, op);
  }

  /// After an elementwise op joined pointwise `group`, the other pointwise groups it reads at
  /// the group's shape merge into it too (their values are computed at the same element),
  /// unless that would close a cycle through a third group.
  void absorbProducers(Group *group, llvm::ArrayRef<Group *> candidates, Counts &counts) {
    for (Group *candidate : candidates) {
      if (candidate == group || find(candidate) != candidate ||
          candidate->kind != GroupKind::Pointwise || candidate->shape != group->shape)
        continue;
      // An op of the group that reads the candidate through a view needs another thread's
      // element of it: the candidate stays a kernel of its own.
      bool readThroughView = false;
      for (Group *part : partsOf(group))
        for (Operation *op : part->ops)
          for (Value operand : op->getOperands())
            if (Operation *def = operand.getDefiningOp();
                def && classify(def) == OpClass::View && viewReads(operand, candidate))
              readThroughView = true;
      if (readThroughView) {
        refuse(candidate->ops.front(), counts,
               "into the pointwise kernel that reads it: an op there reads it through a "
               "broadcast or transpose (another thread's element)");
        continue;
      }
      llvm::SmallVector<Group *> previousParts(partsOf(group));
      llvm::SmallVector<Group *> absorbed(partsOf(candidate));
      mergedInto_[candidate] = group;
      parts_[group] = previousParts;
      parts_[group].append(absorbed.begin(), absorbed.end());
      if (bindingsOf(group).size() > options_.maxBindings) {
        mergedInto_.erase(candidate);
        parts_[group] = previousParts;
        refuse(candidate->ops.front(), counts,
               llvm::Twine("into the pointwise kernel that reads it: it would bind more than ") +
                   llvm::Twine(options_.maxBindings) + " buffers");
        continue;
      }
      if (closesCycle(group)) {
        mergedInto_.erase(candidate);
        parts_[group] = previousParts;
        continue;
      }
      ++counts.fusedOps;
    }
  }

  void placeReduction(Operation *op, Counts &counts) {
    Group *producer = nullptr;
    if (!options_.noFusion && op->getNumOperands() == 1)
      producer = groupOfValue(op->getOperand(0));
    if (producer) {
      producer = find(producer);
      if (producer->kind == GroupKind::Pointwise &&
          llvm::ArrayRef<int64_t>(producer->shape) == shapeOf(op->getOperand(0)) &&
          bindingsOf(producer, op).size() <= options_.maxBindings) {
        // The producer group becomes this reduction's prologue.
        producer->kind = GroupKind::Reduction;
        producer->anchor = op;
        producer->rowShape = rowShapeOf(op);
        for (Group *part : partsOf(producer))
          for (Operation *member : part->ops)
            spaceOf_[member] = Space::Operand;
        add(producer, op, Space::Result);
        ++counts.prologues;
        ++counts.fusedOps;
        return;
      }
      // A reduction along the rows of a row kernel whose element it reads is one more row
      // statistic of that kernel (a layer norm's variance after its mean).
      llvm::SmallVector<int64_t> rowShape = rowShapeOf(op);
      Operation *def = op->getOperand(0).getDefiningOp();
      if (producer->kind == GroupKind::Row && !rowShape.empty() && producer->rowShape == rowShape &&
          spaceOf_.lookup(def) == Space::Operand) {
        add(producer, op, Space::Result);
        ++counts.fusedOps;
        return;
      }
      refuse(op, counts,
             llvm::Twine("its operand comes from a ") + kindName(producer->kind) +
                 " kernel; only an elementwise kernel of the operand's shape becomes a "
                 "reduction's prologue, and only a row kernel's elements a reduction along "
                 "its rows");
    }
    newGroup(GroupKind::Reduction, op);
  }

  void placeRow(Operation *op, Counts &counts) {
    if (!options_.noFusion) {
      Value operand = op->getOperand(0);
      int64_t axis = llvm::cast<RowOpInterface>(op).getRowAxis();
      for (auto &owned : groups_) {
        Group *group = owned.get();
        if (find(group) != group || group->kind != GroupKind::Row)
          continue;
        auto anchor = llvm::dyn_cast<RowOpInterface>(group->anchor);
        if (!anchor || anchor->getOperand(0) != operand || anchor.getRowAxis() != axis)
          continue;
        bool cycle = llvm::any_of(producerGroups(op), [&](Group *producer) {
          return producer != group && dependsOn(producer, group);
        });
        if (cycle) {
          refuse(op, counts, "sharing the row kernel of the same logits would form a cycle");
          break;
        }
        add(group, op, llvm::cast<RowOpInterface>(op).isPerRow() ? Space::Result : Space::Operand);
        ++counts.fusedOps;
        return;
      }
    }
    newGroup(GroupKind::Row, op);
  }

  /// A view whose value must exist in memory (an interface op, a matmul or a row op reads
  /// it) becomes a pointwise kernel of its own.
  void materializeViews() {
    Block &body = program_.getBody().front();
    for (Operation &op : body) {
      // Splat constants are recomputed wherever they are read, and the plan holds them for
      // other readers; other views of nothing (graph.iota) are materialized like any view.
      if (classify(&op) != OpClass::View || llvm::isa<ConstantOp>(op))
        continue;
      bool needed = llvm::any_of(op.getUsers(), [&](Operation *user) {
        OpClass userClass = classify(user);
        return userClass == OpClass::Interface || userClass == OpClass::Matmul ||
               userClass == OpClass::Row || userClass == OpClass::Attention;
      });
      if (needed)
        newGroup(GroupKind::Pointwise, &op);
    }
  }

  //===--------------------------------------------------------------------===//
  // Horizontal merging
  //===--------------------------------------------------------------------===//

  /// Values the group's kernel binds, with `joining` (if any) one of its ops: what it reads
  /// from outside and what it writes.
  llvm::SetVector<Value> bindingsOf(Group *group, Operation *joining = nullptr) const {
    llvm::SetVector<Value> bindings;
    llvm::DenseSet<Operation *> members;
    for (Group *part : partsOf(group))
      for (Operation *op : part->ops)
        members.insert(op);
    if (joining)
      members.insert(joining);
    std::function<void(Value, Operation *)> leaf = [&](Value value, Operation *consumer) {
      Operation *def = value.getDefiningOp();
      if (def && members.contains(def))
        return;
      if (def && classify(def) == OpClass::View && clonesViews(consumer)) {
        for (Value operand : def->getOperands())
          leaf(operand, def);
        return;
      }
      bindings.insert(value);
    };
    for (Operation *op : members)
      for (Value operand : op->getOperands())
        leaf(operand, op);
    for (Operation *op : members)
      for (Value result : op->getResults())
        if (llvm::any_of(result.getUsers(),
                         [&](Operation *user) { return !members.contains(user); }))
          bindings.insert(result);
    return bindings;
  }

  llvm::ArrayRef<Group *> partsOf(Group *root) const {
    auto it = parts_.find(root);
    if (it != parts_.end())
      return it->second;
    return llvm::ArrayRef<Group *>(selfParts_[root->id]);
  }

  void mergeHorizontally(Counts &counts) {
    llvm::SmallVector<Group *> buckets;
    for (auto &owned : groups_) {
      Group *group = owned.get();
      if (group->kind != GroupKind::Pointwise || find(group) != group)
        continue;
      bool merged = false;
      for (Group *bucket : buckets) {
        if (dependsOn(group, bucket) || dependsOn(bucket, group))
          continue;
        llvm::SmallVector<Group *> previousParts(partsOf(bucket));
        auto undo = [&] {
          mergedInto_.erase(group);
          parts_[bucket] = previousParts;
        };
        llvm::SmallVector<Group *> joining(partsOf(group));
        mergedInto_[group] = bucket;
        parts_[bucket] = previousParts;
        parts_[bucket].append(joining.begin(), joining.end());
        if (bindingsOf(bucket).size() > options_.maxBindings) {
          undo();
          refuse(group->ops.front(), counts,
                 llvm::Twine("into a multi-tensor kernel: it would bind more than ") +
                     llvm::Twine(options_.maxBindings) + " buffers");
          continue;
        }
        // The merged node must not close a cycle through a third group.
        if (closesCycle(bucket)) {
          undo();
          continue;
        }
        bucket->horizontal = true;
        ++counts.horizontal;
        merged = true;
        break;
      }
      if (!merged)
        buckets.push_back(group);
    }
  }

  //===--------------------------------------------------------------------===//
  // Outlining
  //===--------------------------------------------------------------------===//

  std::string kernelName(Group *root, llvm::ArrayRef<Operation *> ops,
                         llvm::ArrayRef<llvm::StringRef> layers) {
    std::string name;
    for (llvm::StringRef layer : layers) {
      if (!name.empty())
        name += "_";
      name += layer.str();
    }
    if (name.empty())
      name = "step";
    llvm::SetVector<llvm::StringRef> mnemonics;
    for (Operation *op : ops)
      if (classify(op) != OpClass::View || !llvm::isa<ConstantOp>(op))
        mnemonics.insert(op->getName().stripDialect());
    if (root->horizontal) {
      name += "_multi_tensor";
    } else {
      int shown = 0;
      for (llvm::StringRef mnemonic : mnemonics) {
        if (shown++ == 4) {
          name += "_etc";
          break;
        }
        name += "_" + mnemonic.str();
      }
    }
    for (char &c : name)
      if (!llvm::isAlnum(c) && c != '_')
        c = '_';
    std::string unique = name;
    for (int suffix = 2; !usedNames_.insert(unique).second; ++suffix)
      unique = name + "_" + std::to_string(suffix);
    return unique;
  }

  LogicalResult outline(Counts &counts) {
    Block &body = program_.getBody().front();
    MLIRContext *context = program_.getContext();

    // Items to schedule: each kernel, and every op no kernel owns (interface ops and views
    // left outside). Dependences come from SSA uses only: the codegen applies assigns after
    // the whole program, so reads and assigns need no extra order.
    llvm::SmallVector<Group *> roots;
    for (auto &owned : groups_)
      if (find(owned.get()) == owned.get())
        roots.push_back(owned.get());

    struct Item {
      Group *kernel = nullptr;
      Operation *op = nullptr;
      int position = 0;
    };
    std::vector<Item> items;
    llvm::DenseMap<Operation *, int> itemOf;
    for (Group *root : roots) {
      int index = static_cast<int>(items.size());
      int first = INT32_MAX;
      for (Group *part : partsOf(root))
        for (Operation *op : part->ops) {
          itemOf[op] = index;
          first = std::min(first, position_.lookup(op));
        }
      items.push_back({root, nullptr, first});
    }
    for (Operation &op : body) {
      if (itemOf.count(&op) || op.hasTrait<OpTrait::IsTerminator>())
        continue;
      itemOf[&op] = static_cast<int>(items.size());
      items.push_back({nullptr, &op, position_.lookup(&op)});
    }

    // Outline every kernel (the calls are created later, in schedule order).
    struct Outlined {
      func::FuncOp callee;
      llvm::SmallVector<Value> leaves;
      llvm::SmallVector<Value> results;
    };
    std::vector<Outlined> outlined(items.size());
    for (auto [index, item] : llvm::enumerate(items)) {
      if (!item.kernel)
        continue;
      llvm::SmallVector<Operation *> ops;
      for (Group *part : partsOf(item.kernel))
        ops.append(part->ops.begin(), part->ops.end());
      llvm::sort(ops, [&](Operation *a, Operation *b) {
        return position_.lookup(a) < position_.lookup(b);
      });
      llvm::DenseSet<Operation *> members(ops.begin(), ops.end());

      // Views read from outside are cloned in; their sources become leaves.
      llvm::SetVector<Operation *> views;
      llvm::SetVector<Value> leaves;
      std::function<void(Value, Operation *)> visit = [&](Value value, Operation *consumer) {
        Operation *def = value.getDefiningOp();
        if (def && members.contains(def))
          return;
        if (def && classify(def) == OpClass::View && clonesViews(consumer)) {
          for (Value operand : def->getOperands())
            visit(operand, def);
          views.insert(def);
          return;
        }
        leaves.insert(value);
      };
      for (Operation *op : ops)
        for (Value operand : op->getOperands())
          visit(operand, op);

      // A value is returned when something outside the kernel reads it; a view cloned in
      // (a per-row value broadcast along the row) reads it inside, unless the view itself
      // is read outside too.
      std::function<bool(Operation *)> readOutside = [&](Operation *user) {
        if (members.contains(user))
          return false;
        if (!views.contains(user))
          return true;
        return llvm::any_of(user->getUsers(), readOutside);
      };
      llvm::SmallVector<Value> results;
      for (Operation *op : ops)
        for (Value result : op->getResults())
          if (llvm::any_of(result.getUsers(), readOutside))
            results.push_back(result);

      llvm::SetVector<llvm::StringRef> layers;
      for (Operation *op : ops)
        collectLayers(op->getLoc(), layers);
      Group *root = item.kernel;
      std::string name = kernelName(root, ops, layers.getArrayRef());

      llvm::SmallVector<Type> argumentTypes, resultTypes;
      for (Value leaf : leaves)
        argumentTypes.push_back(leaf.getType());
      for (Value result : results)
        resultTypes.push_back(result.getType());
      llvm::SmallVector<Location> locations;
      for (Operation *op : ops)
        locations.push_back(op->getLoc());
      OpBuilder builder(context);
      auto callee = func::FuncOp::create(FusedLoc::get(context, locations), name,
                                         builder.getFunctionType(argumentTypes, resultTypes));
      callee.setPrivate();
      llvm::SmallVector<StringAttr> layerNames;
      for (llvm::StringRef layer : layers)
        layerNames.push_back(builder.getStringAttr(layer));
      callee->setAttr(
          "graph.kernel",
          KernelAttr::get(context,
                          root->horizontal ? KernelKind::multi_tensor : kernelKind(root->kind),
                          layerNames, static_cast<int64_t>(ops.size())));
      Block *entry = callee.addEntryBlock();
      builder.setInsertionPointToStart(entry);
      IRMapping mapping;
      for (auto [leaf, argument] : llvm::zip(leaves, entry->getArguments()))
        mapping.map(leaf, argument);
      // Views of leaves first, then the members in order, each view of a member's value (a
      // row kernel's per-row value broadcast along the row) among them where it stood.
      auto byPosition = [&](Operation *a, Operation *b) {
        return position_.lookup(a) < position_.lookup(b);
      };
      llvm::SmallVector<Operation *> viewList(views.begin(), views.end());
      llvm::sort(viewList, byPosition);
      llvm::DenseSet<Operation *> readsMember;
      llvm::SmallVector<Operation *> body;
      for (Operation *view : viewList) {
        bool dependent = llvm::any_of(view->getOperands(), [&](Value operand) {
          Operation *def = operand.getDefiningOp();
          return def && (members.contains(def) || readsMember.contains(def));
        });
        if (!dependent) {
          builder.clone(*view, mapping);
          continue;
        }
        readsMember.insert(view);
        body.push_back(view);
      }
      body.append(ops.begin(), ops.end());
      llvm::stable_sort(body, byPosition);
      for (Operation *op : body)
        builder.clone(*op, mapping);
      llvm::SmallVector<Value> returned;
      for (Value result : results)
        returned.push_back(mapping.lookup(result));
      builder.create<func::ReturnOp>(callee.getLoc(), returned);
      symbols_.insert(callee);

      outlined[index] = {callee, llvm::SmallVector<Value>(leaves.begin(), leaves.end()), results};
      ++counts.kernels;
    }

    // Schedule: Kahn's algorithm over the items, lowest original position first.
    std::vector<llvm::SmallVector<int>> users(items.size());
    std::vector<int> pending(items.size(), 0);
    auto itemOfValue = [&](Value value) -> int {
      Operation *def = value.getDefiningOp();
      if (!def)
        return -1;
      auto it = itemOf.find(def);
      return it == itemOf.end() ? -1 : it->second;
    };
    for (auto [index, item] : llvm::enumerate(items)) {
      llvm::SmallVector<Value> reads;
      if (item.kernel)
        reads = outlined[index].leaves;
      else
        reads.assign(item.op->getOperands().begin(), item.op->getOperands().end());
      llvm::SmallSet<int, 8> producers;
      for (Value value : reads) {
        int producer = itemOfValue(value);
        if (producer >= 0 && producer != static_cast<int>(index) &&
            producers.insert(producer).second) {
          users[producer].push_back(static_cast<int>(index));
          ++pending[index];
        }
      }
    }
    std::vector<int> ready;
    for (size_t index = 0; index < items.size(); ++index)
      if (pending[index] == 0)
        ready.push_back(static_cast<int>(index));
    std::vector<int> order;
    while (!ready.empty()) {
      auto best = std::min_element(ready.begin(), ready.end(), [&](int a, int b) {
        return items[a].position < items[b].position;
      });
      int index = *best;
      ready.erase(best);
      order.push_back(index);
      for (int user : users[index])
        if (--pending[user] == 0)
          ready.push_back(user);
    }
    if (order.size() != items.size())
      return program_.emitError("kiln-fuse: the kernels formed have a cyclic dependence "
                                "(a bug in kernel formation)");

    // Rebuild the program in schedule order: interface ops move, kernels become calls.
    Operation *terminator = body.getTerminator();
    OpBuilder builder(terminator);
    IRMapping replaced;
    for (int index : order) {
      Item &item = items[index];
      if (!item.kernel) {
        item.op->moveBefore(terminator);
        continue;
      }
      Outlined &kernel = outlined[index];
      llvm::SmallVector<Value> arguments;
      for (Value leaf : kernel.leaves)
        arguments.push_back(replaced.lookupOrDefault(leaf));
      auto call = builder.create<func::CallOp>(kernel.callee.getLoc(), kernel.callee, arguments);
      for (auto [result, replacement] : llvm::zip(kernel.results, call.getResults())) {
        result.replaceAllUsesWith(replacement);
        replaced.map(result, replacement);
      }
    }
    // The fused ops and the views no one reads any more go away, users first.
    for (bool erased = true; erased;) {
      erased = false;
      for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body))) {
        if (op.hasTrait<OpTrait::IsTerminator>())
          continue;
        bool owned = groupOf_.count(&op) != 0;
        if ((owned || classify(&op) == OpClass::View) && op.use_empty()) {
          op.erase();
          erased = true;
        }
      }
    }
    return success();
  }

  func::FuncOp program_;
  const FuseOptions &options_;
  SymbolTable &symbols_;
  llvm::StringSet<> &usedNames_;
  std::vector<std::unique_ptr<Group>> groups_;
  llvm::DenseMap<Operation *, Group *> groupOf_;
  llvm::DenseMap<Operation *, Space> spaceOf_;
  llvm::DenseMap<Operation *, int> position_;
  /// Each op's sources (collectSources, deduplicated, in operand order) and each op's readers.
  llvm::DenseMap<Operation *, llvm::SmallVector<Operation *, 2>> sourcesOf_;
  llvm::DenseMap<Operation *, llvm::SmallVector<Operation *, 2>> readersOf_;
  llvm::DenseMap<Group *, Group *> mergedInto_;
  /// The groups merged into a root (itself first), once it has absorbed others.
  llvm::DenseMap<Group *, llvm::SmallVector<Group *>> parts_;
  std::vector<llvm::SmallVector<Group *, 1>> selfParts_;
};

struct FusePass : impl::FuseBase<FusePass> {
  using FuseBase::FuseBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    llvm::StringSet<> usedNames;
    for (Operation &op : module.getBody()->getOperations())
      if (auto symbol = llvm::dyn_cast<SymbolOpInterface>(op))
        usedNames.insert(symbol.getName());
    llvm::SmallVector<func::FuncOp> programs;
    for (auto function : module.getOps<func::FuncOp>())
      if (!function.isExternal() && !function->hasAttr("graph.kernel"))
        programs.push_back(function);
    FuseOptions options;
    options.noFusion = noFusion;
    options.explain = explain;
    options.maxBindings = maxBindings;
    for (func::FuncOp program : programs) {
      KernelFormer::Counts counts;
      KernelFormer former(program, options, symbols, usedNames);
      if (failed(former.run(counts)))
        return signalPassFailure();
      numKernels += counts.kernels;
      numFusedOps += counts.fusedOps;
      numEpilogues += counts.epilogues;
      numPrologues += counts.prologues;
      numHorizontal += counts.horizontal;
      numRefused += counts.refused;
      // Release builds of LLVM compile statistics out; the totals also go on the program.
      Builder builder(program.getContext());
      program->setAttr(
          "kiln.fusion",
          builder.getDictionaryAttr({
              builder.getNamedAttr("kernels", builder.getI64IntegerAttr(counts.kernels)),
              builder.getNamedAttr("fused_ops", builder.getI64IntegerAttr(counts.fusedOps)),
              builder.getNamedAttr("epilogues", builder.getI64IntegerAttr(counts.epilogues)),
              builder.getNamedAttr("prologues", builder.getI64IntegerAttr(counts.prologues)),
              builder.getNamedAttr("horizontal", builder.getI64IntegerAttr(counts.horizontal)),
              builder.getNamedAttr("refused", builder.getI64IntegerAttr(counts.refused)),
          }));
    }
  }
};

} // namespace
} // namespace kiln
