//===- InspectCode.cpp - kiln inspect --ir, --spirv, --ptx ----------------===//
//
// The code a plan carries: its graph module, one kernel's SPIR-V disassembly
// (SPIRV-Tools, in process) and one kernel's PTX for an architecture.
//
//===----------------------------------------------------------------------===//

#include "InspectViews.h"

#include "spirv-tools/libspirv.hpp"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace kiln::tool::inspect {
namespace {

/// The kernel named `key`, or whose index `key` is; -1 if none.
int findKernel(const plan::Plan &plan, const std::string &key) {
  for (int i = 0; i < plan.kernels_size(); ++i)
    if (plan.kernels(i).name() == key)
      return i;
  if (!key.empty() && key.size() < 10 &&
      std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int index = std::stoi(key);
    if (index < plan.kernels_size())
      return index;
  }
  return -1;
}
std::string availableKernels(const plan::Plan &plan) {
  std::string text;
  for (int i = 0; i < plan.kernels_size(); ++i)
    text += "\n  " + std::to_string(i) + ": " + plan.kernels(i).name();
  return text;
}
/// The 32-bit words of a little-endian SPIR-V byte string (whose size validation checked).
std::vector<uint32_t> spirvWords(const std::string &bytes) {
  std::vector<uint32_t> words(bytes.size() / 4);
  for (size_t i = 0; i < words.size(); ++i)
    for (int b = 3; b >= 0; --b)
      words[i] = (words[i] << 8) | static_cast<uint8_t>(bytes[i * 4 + b]);
  return words;
}

} // namespace

int showIr(const plan::Plan &plan) {
  if (plan.graph_module().empty())
    return fail("the plan carries no graph module (the compiler that wrote it left it out)");
  std::fputs(plan.graph_module().c_str(), stdout);
  if (plan.graph_module().back() != '\n')
    std::fputs("\n", stdout);
  return 0;
}
int showSpirv(const plan::Plan &plan, const std::string &key) {
  int index = findKernel(plan, key);
  if (index < 0)
    return fail("the plan has no kernel '" + key +
                "'; give a name or index of one of these:" + availableKernels(plan));
  const plan::Kernel &kernel = plan.kernels(index);
  if (kernel.spirv().empty())
    return fail("kernel '" + kernel.name() + "' carries no SPIR-V (the plan's targets: no vulkan)");
  spvtools::SpirvTools tools(SPV_ENV_VULKAN_1_1);
  std::string messages;
  tools.SetMessageConsumer(
      [&](spv_message_level_t, const char *, const spv_position_t &position, const char *message) {
        messages += "word " + std::to_string(position.index) + ": " + message + "\n";
      });
  std::string text;
  if (!tools.Disassemble(spirvWords(kernel.spirv()), &text,
                         SPV_BINARY_TO_TEXT_OPTION_FRIENDLY_NAMES |
                             SPV_BINARY_TO_TEXT_OPTION_INDENT))
    return fail("kernel '" + kernel.name() + "' holds SPIR-V that does not disassemble:\n" +
                messages);
  std::printf("; kernel %d: %s (%zu bytes)\n%s", index, kernel.name().c_str(),
              kernel.spirv().size(), text.c_str());
  return 0;
}
int showPtx(const plan::Plan &plan, const std::string &key, const std::string &arch) {
  int index = findKernel(plan, key);
  if (index < 0)
    return fail("the plan has no kernel '" + key +
                "'; give a name or index of one of these:" + availableKernels(plan));
  const plan::Kernel &kernel = plan.kernels(index);
  if (kernel.ptx_code().empty())
    return fail("kernel '" + kernel.name() + "' carries no PTX (the plan's targets: no cuda)");
  std::string archs;
  for (const plan::PtxCode &code : kernel.ptx_code()) {
    if (arch.empty() || code.arch() == arch) {
      std::printf("// kernel %d: %s (%s, %zu bytes)\n%s", index, kernel.name().c_str(),
                  code.arch().c_str(), code.ptx().size(), code.ptx().c_str());
      return 0;
    }
    archs += " " + code.arch();
  }
  return fail("kernel '" + kernel.name() + "' has no PTX for " + arch + "; it has:" + archs);
}

} // namespace kiln::tool::inspect
