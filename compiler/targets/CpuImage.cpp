//===- CpuImage.cpp - Object checks, ld.lld, image checks ----------------===//
//
// An emitted object must reference no undefined symbol: a kernel that would call libm (or
// memcpy, or anything) is refused here, named by the `.text.<kernel>` section the reference
// comes from (objects are emitted with one section per function). ld.lld runs as a
// subprocess, found like ptxas is. The image is then read with llvm::object's ELFFile: its
// section headers (no SHT_REL/SHT_RELA/SHT_RELR section with entries), its dynamic symbols
// (none undefined), its program headers (every PT_LOAD at p_vaddr == p_offset, so the bytes
// can be copied flat) and its symbol table (each kernel's entry).
//
//===----------------------------------------------------------------------===//
#include "CpuImage.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/Object/ELF.h"
#include "llvm/Object/ObjectFile.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace mlir;

namespace kiln::targets {

std::optional<std::string> findLld() {
  if (const char *fromEnv = std::getenv("KILN_LD_LLD"); fromEnv && *fromEnv)
    return std::string(fromEnv);
  for (const char *name : {"ld.lld-19", "ld.lld"})
    if (auto onPath = llvm::sys::findProgramByName(name))
      return *onPath;
  if (llvm::sys::fs::can_execute("/usr/lib/llvm-19/bin/ld.lld"))
    return std::string("/usr/lib/llvm-19/bin/ld.lld");
  return std::nullopt;
}

namespace detail {

static std::string errorText(llvm::Error error) { return llvm::toString(std::move(error)); }

LogicalResult checkObjectCallsNothing(Operation *where, llvm::ArrayRef<char> object,
                                      llvm::StringRef isa) {
  llvm::MemoryBufferRef buffer(llvm::StringRef(object.data(), object.size()), "kernels.o");
  auto file = llvm::object::ObjectFile::createObjectFile(buffer);
  if (!file)
    return where->emitError("the CPU object for ")
           << isa << " cannot be read: " << errorText(file.takeError());
  for (const llvm::object::SectionRef &section : (*file)->sections()) {
    auto target = section.getRelocatedSection();
    if (!target || *target == (*file)->section_end())
      continue;
    llvm::Expected<llvm::StringRef> targetName = (*target)->getName();
    llvm::StringRef kernel = targetName ? *targetName : "";
    if (!targetName)
      llvm::consumeError(targetName.takeError());
    kernel.consume_front(".text.");
    for (const llvm::object::RelocationRef &relocation : section.relocations()) {
      auto symbol = relocation.getSymbol();
      if (symbol == (*file)->symbol_end())
        continue;
      llvm::Expected<uint32_t> flags = symbol->getFlags();
      if (!flags) {
        llvm::consumeError(flags.takeError());
        continue;
      }
      if (!(*flags & llvm::object::SymbolRef::SF_Undefined))
        continue;
      llvm::Expected<llvm::StringRef> name = symbol->getName();
      std::string symbolName = name ? name->str() : errorText(name.takeError());
      return where->emitError("CPU kernel @")
             << kernel << " for " << isa << " calls the external symbol '" << symbolName
             << "': kernels must call nothing (a libm function comes from a math op "
                "without a polynomial approximation)";
    }
  }
  return success();
}

FailureOr<std::vector<uint8_t>> linkImage(Operation *where, llvm::ArrayRef<char> object,
                                          llvm::StringRef isa) {
  std::optional<std::string> lld = findLld();
  if (!lld)
    return where->emitError("ld.lld not found (needed for the CPU image for ")
           << isa << "): install lld-19 or set KILN_LD_LLD";
  llvm::SmallString<128> input, output, log;
  if (llvm::sys::fs::createTemporaryFile("kiln-cpu", "o", input) ||
      llvm::sys::fs::createTemporaryFile("kiln-cpu", "so", output) ||
      llvm::sys::fs::createTemporaryFile("kiln-lld", "log", log))
    return where->emitError("cannot create temporary files for ld.lld");
  auto cleanup = llvm::make_scope_exit([&] {
    llvm::sys::fs::remove(input);
    llvm::sys::fs::remove(output);
    llvm::sys::fs::remove(log);
  });
  {
    std::error_code error;
    llvm::raw_fd_ostream stream(input, error);
    if (error)
      return where->emitError("cannot write ") << input << ": " << error.message();
    stream.write(object.data(), object.size());
  }
  // --no-rosegment and separate loadable segments give one R+X segment from offset 0 at
  // address 0 holding headers, constants and code: the image can be copied flat.
  llvm::SmallVector<llvm::StringRef> args = {*lld,
                                             "-shared",
                                             "-nostdlib",
                                             "-Bsymbolic",
                                             "-z",
                                             "now",
                                             "-z",
                                             "separate-loadable-segments",
                                             "--no-rosegment",
                                             "--build-id=none",
                                             "--hash-style=gnu",
                                             "-o",
                                             output,
                                             input};
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, log.str(), log.str()};
  std::string launchError;
  int status = llvm::sys::ExecuteAndWait(*lld, args, /*Env=*/std::nullopt, redirects,
                                         /*SecondsToWait=*/60, /*MemoryLimit=*/0, &launchError);
  if (status != 0) {
    InFlightDiagnostic diagnostic = where->emitError("ld.lld failed for the CPU image for ")
                                    << isa << " (status " << status << ")";
    if (!launchError.empty())
      diagnostic << ": " << launchError;
    if (auto text = llvm::MemoryBuffer::getFile(log))
      diagnostic << "\n" << (*text)->getBuffer();
    return diagnostic;
  }
  auto linked = llvm::MemoryBuffer::getFile(output);
  if (!linked)
    return where->emitError("cannot read the linked CPU image for ") << isa;
  llvm::StringRef bytes = (*linked)->getBuffer();
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

FailureOr<std::vector<CpuEntry>> inspectImage(Operation *where, llvm::ArrayRef<uint8_t> image,
                                              llvm::ArrayRef<std::string> kernels,
                                              llvm::StringRef isa) {
  using ELF = llvm::object::ELF64LE;
  auto fail = [&](const llvm::Twine &what) {
    return where->emitError("the CPU image for ") << isa << " " << what;
  };
  auto file = llvm::object::ELFFile<ELF>::create(
      llvm::StringRef(reinterpret_cast<const char *>(image.data()), image.size()));
  if (!file)
    return fail("is not a 64-bit little-endian ELF file: " + errorText(file.takeError()));
  auto sections = file->sections();
  auto segments = file->program_headers();
  if (!sections || !segments)
    return fail("has unreadable headers");

  for (const ELF::Phdr &segment : *segments)
    if (segment.p_type == llvm::ELF::PT_LOAD && segment.p_vaddr != segment.p_offset)
      return fail("has a loadable segment at address " + llvm::Twine(segment.p_vaddr) +
                  " but file offset " + llvm::Twine(segment.p_offset));

  const ELF::Shdr *symtab = nullptr;
  for (const ELF::Shdr &section : *sections) {
    unsigned type = section.sh_type;
    if ((type == llvm::ELF::SHT_RELA || type == llvm::ELF::SHT_REL ||
         type == llvm::ELF::SHT_RELR) &&
        section.sh_size != 0) {
      auto name = file->getSectionName(section);
      return fail("has dynamic relocations (" + (name ? *name : "?") + ", " +
                  llvm::Twine(section.sh_size) +
                  " bytes); kernels must be fully position "
                  "independent");
    }
    if (type == llvm::ELF::SHT_DYNSYM) {
      auto symbols = file->symbols(&section);
      auto strings = file->getStringTableForSymtab(section);
      if (!symbols || !strings)
        return fail("has an unreadable .dynsym");
      for (const ELF::Sym &symbol : llvm::drop_begin(*symbols))
        if (symbol.isUndefined())
          return fail("has the undefined dynamic symbol '" +
                      (symbol.getName(*strings) ? *symbol.getName(*strings) : "?") + "'");
    }
    if (type == llvm::ELF::SHT_SYMTAB)
      symtab = &section;
  }
  if (!symtab)
    return fail("has no symbol table");
  auto symbols = file->symbols(symtab);
  auto strings = file->getStringTableForSymtab(*symtab);
  if (!symbols || !strings)
    return fail("has an unreadable .symtab");

  std::vector<CpuEntry> entries;
  for (const std::string &kernel : kernels) {
    std::optional<uint64_t> offset;
    for (const ELF::Sym &symbol : *symbols) {
      auto name = symbol.getName(*strings);
      if (name && *name == kernel && symbol.getType() == llvm::ELF::STT_FUNC && symbol.isDefined())
        offset = symbol.st_value;
    }
    if (!offset)
      return fail("has no function symbol for kernel @" + kernel);
    bool executable = llvm::any_of(*segments, [&](const ELF::Phdr &segment) {
      return segment.p_type == llvm::ELF::PT_LOAD && (segment.p_flags & llvm::ELF::PF_X) &&
             *offset >= segment.p_offset && *offset < segment.p_offset + segment.p_filesz;
    });
    if (!executable || *offset >= image.size())
      return fail("places kernel @" + kernel + " outside its executable bytes");
    entries.push_back({kernel, *offset});
  }
  return entries;
}

} // namespace detail
} // namespace kiln::targets
