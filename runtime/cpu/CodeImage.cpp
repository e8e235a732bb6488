//===- CodeImage.cpp - A plan's native code, loaded without dlopen --------===//
//
// A minimal ELF64 reader (the file header, the program headers and the
// dynamic section, read with memcpy so damaged bytes are never dereferenced
// unaligned or out of bounds) and the mapping that copies the PT_LOAD
// segments in, then drops write permission before adding execute.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/cpu/CodeImage.h"

#include "kiln/runtime/Sha256.h"

#include "absl/strings/str_cat.h"

#include <cerrno>
#include <cstring>
#include <elf.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef DT_RELRSZ
#define DT_RELRSZ 35
#endif

namespace kiln::cpu {

namespace {

/// Images larger than this (virtual extent) are refused before anything is mapped.
constexpr uint64_t kMaxImageBytes = uint64_t{1} << 28;
constexpr uint16_t kMaxProgramHeaders = 64;

template <typename T> bool readAt(std::string_view bytes, uint64_t offset, T &value) {
  if (offset > bytes.size() || sizeof(T) > bytes.size() - offset)
    return false;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return true;
}

uint16_t machineOf(std::string_view isa) { return isa == "aarch64" ? EM_AARCH64 : EM_X86_64; }

/// What a loaded image needs from the program headers.
struct Layout {
  std::vector<Elf64_Phdr> loads;
  uint64_t extent = 0; ///< End of the last PT_LOAD in memory.
};

class ElfReader {
public:
  ElfReader(std::string_view bytes, std::string isa) : bytes_(bytes), isa_(std::move(isa)) {}

  absl::StatusOr<Layout> read() {
    Elf64_Ehdr header;
    if (!readAt(bytes_, 0, header))
      return damaged(absl::StrCat("is ", bytes_.size(), " bytes, shorter than an ELF64 header"));
    if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0)
      return damaged("does not start with the ELF magic \\x7fELF");
    if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != ELFDATA2LSB)
      return refused("is not a little-endian ELF64 file");
    if (header.e_type != ET_DYN)
      return refused(absl::StrCat("has ELF type ", header.e_type,
                                  "; it must be a shared object (ET_DYN, linked -shared)"));
    if (header.e_machine != machineOf(isa_))
      return refused(absl::StrCat("is for ELF machine ", header.e_machine, ", not ",
                                  machineOf(isa_), " as ISA '", isa_, "' needs"));
    if (header.e_phentsize != sizeof(Elf64_Phdr) || header.e_phnum == 0 ||
        header.e_phnum > kMaxProgramHeaders)
      return damaged(absl::StrCat("has ", header.e_phnum, " program headers of ",
                                  header.e_phentsize, " bytes; expected 1 to ", kMaxProgramHeaders,
                                  " of ", sizeof(Elf64_Phdr)));
    uint64_t headerBytes = uint64_t{header.e_phnum} * sizeof(Elf64_Phdr);
    if (header.e_phoff > bytes_.size() || headerBytes > bytes_.size() - header.e_phoff)
      return damaged(absl::StrCat("has program headers at file bytes [", header.e_phoff, ", +",
                                  headerBytes, ") but the file has ", bytes_.size()));
    Layout layout;
    for (uint16_t index = 0; index < header.e_phnum; ++index) {
      Elf64_Phdr segment;
      readAt(bytes_, header.e_phoff + uint64_t{index} * sizeof(Elf64_Phdr), segment);
      if (absl::Status status = checkSegment(index, segment, layout); !status.ok())
        return status;
    }
    if (layout.loads.empty())
      return refused("has no PT_LOAD segment");
    bool executable = false;
    for (const Elf64_Phdr &segment : layout.loads)
      executable |= (segment.p_flags & PF_X) != 0 && segment.p_filesz > 0;
    if (!executable)
      return refused("has no executable PT_LOAD segment with code, so no kernel can be in it");
    return layout;
  }

private:
  absl::Status damaged(const std::string &what) const {
    return absl::DataLossError(
        absl::StrCat("cpu image '", isa_, "' ", what, "; the plan is damaged, recompile it"));
  }
  absl::Status refused(const std::string &what) const {
    return absl::FailedPreconditionError(
        absl::StrCat("cpu image '", isa_, "' ", what,
                     "; the runtime runs images linked -shared -nostdlib -Bsymbolic -z now "
                     "that need nothing at load"));
  }

  absl::Status checkSegment(uint16_t index, const Elf64_Phdr &segment, Layout &layout) {
    std::string where = absl::StrCat("segment ", index);
    if (segment.p_type == PT_INTERP)
      return refused(absl::StrCat("has an interpreter (", where, ", PT_INTERP)"));
    if (segment.p_type == PT_TLS)
      return refused(absl::StrCat("has thread-local storage (", where, ", PT_TLS)"));
    if (segment.p_type != PT_LOAD && segment.p_type != PT_DYNAMIC)
      return absl::OkStatus();
    if (segment.p_offset > bytes_.size() || segment.p_filesz > bytes_.size() - segment.p_offset)
      return damaged(absl::StrCat(where, " occupies file bytes [", segment.p_offset, ", +",
                                  segment.p_filesz, ") but the file has ", bytes_.size()));
    if (segment.p_type == PT_DYNAMIC)
      return checkDynamic(where, segment);
    if (segment.p_filesz > segment.p_memsz || segment.p_vaddr > kMaxImageBytes ||
        segment.p_memsz > kMaxImageBytes - segment.p_vaddr)
      return damaged(absl::StrCat(where, " has ", segment.p_filesz, " file bytes and ",
                                  segment.p_memsz, " memory bytes at address ", segment.p_vaddr,
                                  "; a segment lies within ", kMaxImageBytes,
                                  " bytes and its file part within its memory"));
    if (segment.p_vaddr < layout.extent)
      return damaged(absl::StrCat(where, " starts at address ", segment.p_vaddr, ", below the end ",
                                  layout.extent, " of the previous PT_LOAD segment"));
    layout.extent = segment.p_vaddr + segment.p_memsz;
    layout.loads.push_back(segment);
    return absl::OkStatus();
  }

  absl::Status checkDynamic(const std::string &where, const Elf64_Phdr &segment) {
    for (uint64_t at = 0; at + sizeof(Elf64_Dyn) <= segment.p_filesz; at += sizeof(Elf64_Dyn)) {
      Elf64_Dyn tag;
      readAt(bytes_, segment.p_offset + at, tag);
      int64_t kind = tag.d_tag;
      uint64_t value = tag.d_un.d_val;
      if (kind == DT_NULL)
        return absl::OkStatus();
      if (kind == DT_NEEDED)
        return refused(absl::StrCat("needs a shared library (", where, ", DT_NEEDED)"));
      if (kind == DT_TEXTREL)
        return refused(absl::StrCat("has text relocations (", where, ", DT_TEXTREL)"));
      bool relocations =
          kind == DT_RELASZ || kind == DT_RELSZ || kind == DT_RELRSZ || kind == DT_PLTRELSZ;
      if (relocations && value != 0)
        return refused(absl::StrCat("has ", value, " bytes of dynamic relocations (", where,
                                    ", tag ", kind,
                                    "); a kernel must call nothing and hold no pointers"));
      bool initialisers =
          kind == DT_INIT || kind == DT_FINI ||
          ((kind == DT_INIT_ARRAYSZ || kind == DT_FINI_ARRAYSZ || kind == DT_PREINIT_ARRAYSZ) &&
           value != 0);
      if (initialisers)
        return refused(absl::StrCat("has initialisers or finalisers (", where, ", tag ", kind,
                                    "), which this loader never runs"));
    }
    return damaged(absl::StrCat("dynamic section (", where, ") has no DT_NULL terminator"));
  }

  std::string_view bytes_;
  std::string isa_;
};

uint64_t pageSize() { return static_cast<uint64_t>(sysconf(_SC_PAGESIZE)); }

} // namespace

absl::StatusOr<std::unique_ptr<CodeImage>> CodeImage::load(const plan::CpuImage &image) {
  Sha256Digest digest = sha256(image.code());
  if (image.sha256().size() != digest.size() ||
      std::memcmp(image.sha256().data(), digest.data(), digest.size()) != 0)
    return absl::DataLossError(absl::StrCat("cpu image '", image.isa(),
                                            "': its code does not match its sha256; the plan "
                                            "is damaged, recompile it"));
  absl::StatusOr<Layout> layout = ElfReader(image.code(), image.isa()).read();
  if (!layout.ok())
    return layout.status();

  std::unique_ptr<CodeImage> loaded(new CodeImage());
  loaded->isa_ = image.isa();
  uint64_t page = pageSize();
  loaded->mappedBytes_ = (layout->extent + page - 1) / page * page;
  void *base = mmap(nullptr, loaded->mappedBytes_, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) {
    loaded->mappedBytes_ = 0;
    return absl::ResourceExhaustedError(absl::StrCat("cpu image '", image.isa(), "': mapping ",
                                                     layout->extent,
                                                     " bytes failed: ", std::strerror(errno)));
  }
  loaded->base_ = static_cast<std::byte *>(base);
  for (const Elf64_Phdr &segment : layout->loads) {
    std::memcpy(loaded->base_ + segment.p_vaddr, image.code().data() + segment.p_offset,
                segment.p_filesz); // the rest of p_memsz is already zero
    if (segment.p_flags & PF_X)
      loaded->executable_.emplace_back(segment.p_vaddr, segment.p_vaddr + segment.p_filesz);
  }
  // Write permission goes before execute permission comes: never both at once.
  auto protect = [&](uint64_t begin, uint64_t end, int protection) -> absl::Status {
    if (mprotect(loaded->base_ + begin, end - begin, protection) != 0)
      return absl::FailedPreconditionError(absl::StrCat(
          "cpu image '", image.isa(), "': mprotect of bytes [", begin, ", ", end,
          ") failed: ", std::strerror(errno), " (HINT: the system may forbid executable memory)"));
    return absl::OkStatus();
  };
  if (absl::Status status = protect(0, loaded->mappedBytes_, PROT_READ); !status.ok())
    return status;
  for (auto [begin, end] : loaded->executable_) {
    uint64_t first = begin / page * page, last = (end + page - 1) / page * page;
    if (first == last)
      continue;
    __builtin___clear_cache(reinterpret_cast<char *>(loaded->base_ + first),
                            reinterpret_cast<char *>(loaded->base_ + last));
    if (absl::Status status = protect(first, last, PROT_READ | PROT_EXEC); !status.ok())
      return status;
  }
  return loaded;
}

CodeImage::~CodeImage() {
  if (base_ != nullptr)
    munmap(base_, mappedBytes_);
}

absl::StatusOr<KernelFunction> CodeImage::entry(uint64_t offset, std::string_view kernel) const {
  for (auto [begin, end] : executable_)
    if (offset >= begin && offset < end)
      return reinterpret_cast<KernelFunction>(base_ + offset);
  return absl::FailedPreconditionError(
      absl::StrCat("kernel '", std::string(kernel), "': its ", isa_, " entry at offset ", offset,
                   " is not inside an executable segment of the image; the plan is damaged or "
                   "was not made by kiln compile"));
}

} // namespace kiln::cpu
