//===- InspectMemory.cpp - kiln inspect --buffers, --memory, --arena-svg ---===//
//
// The memory plan as tables (every buffer's role, size, arena offset and live
// range on the planner's timeline) and as an SVG of the arena over time.
//
//===----------------------------------------------------------------------===//

#include "InspectViews.h"

#include "kiln/runtime/PlanValidation.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace kiln::tool::inspect {
namespace {

/// Live ranges on the planner's timeline: every program's commands, the step's first.
struct Timeline {
  std::vector<int64_t> first, last; // per buffer; -1 when no command touches it
  std::vector<std::pair<std::string, int64_t>> programStarts;
  int64_t length = 0;
};
Timeline timelineOf(const plan::Plan &plan) {
  Timeline timeline;
  timeline.first.assign(plan.buffers_size(), -1);
  timeline.last.assign(plan.buffers_size(), -1);
  auto touch = [&](uint32_t buffer) {
    if (timeline.first[buffer] < 0)
      timeline.first[buffer] = timeline.length;
    timeline.last[buffer] = timeline.length;
  };
  for (const plan::ProgramView &program : plan::planPrograms(plan)) {
    timeline.programStarts.emplace_back(program.name, timeline.length);
    for (const plan::Command &command : program.step->commands()) {
      if (command.has_dispatch())
        for (uint32_t buffer : command.dispatch().buffers())
          touch(buffer);
      if (command.has_copy()) {
        touch(command.copy().src_buffer());
        touch(command.copy().dst_buffer());
      }
      ++timeline.length;
    }
  }
  return timeline;
}
std::string ratio(uint64_t numerator, uint64_t denominator) {
  if (denominator == 0)
    return "-";
  char text[32];
  std::snprintf(text, sizeof(text), "%.3f", double(numerator) / double(denominator));
  return text;
}
std::string xmlEscape(const std::string &text) {
  std::string escaped;
  for (char c : text) {
    switch (c) {
    case '<':
      escaped += "&lt;";
      break;
    case '>':
      escaped += "&gt;";
      break;
    case '&':
      escaped += "&amp;";
      break;
    case '"':
      escaped += "&quot;";
      break;
    default:
      escaped += c;
    }
  }
  return escaped;
}

} // namespace

int showBuffers(const plan::Plan &plan) {
  std::vector<std::vector<std::string>> rows = {
      {"Index", "Name", "Role", "Size (bytes)", "Arena offset"}};
  std::map<std::string, std::pair<int, uint64_t>> perRole;
  uint64_t naive = 0;
  int arenaPlaced = 0;
  for (int i = 0; i < plan.buffers_size(); ++i) {
    const plan::Buffer &buffer = plan.buffers(i);
    rows.push_back({std::to_string(i), buffer.name(), roleName(buffer.role()),
                    std::to_string(buffer.size_bytes()),
                    buffer.in_arena() ? std::to_string(buffer.arena_offset()) : "own"});
    auto &[count, bytes] = perRole[roleName(buffer.role())];
    ++count;
    bytes += buffer.size_bytes();
    naive += buffer.size_bytes();
    arenaPlaced += buffer.in_arena();
  }
  printTable(rows);
  std::printf("\nTotals per role\n");
  for (const auto &[role, totals] : perRole)
    std::printf("  %-10s %5d buffers %14llu bytes\n", role.c_str(), totals.first,
                static_cast<unsigned long long>(totals.second));
  std::printf("Naive sum (every buffer its own allocation): %llu bytes in %d buffers\n",
              static_cast<unsigned long long>(naive), plan.buffers_size());
  std::printf("Buffers placed in the transient arena: %d\n", arenaPlaced);
  return 0;
}
int showMemory(const plan::Plan &plan) {
  const plan::MemorySummary &memory = plan.memory();
  Timeline timeline = timelineOf(plan);
  auto bytes = [](uint64_t value) { return static_cast<unsigned long long>(value); };
  bool planned = memory.alignment() != 0;
  std::printf("Memory plan%s\n", planned ? "" : " (none: every buffer has its own allocation)");
  std::printf("  arena            %14llu bytes (alignment %u)\n", bytes(memory.arena_bytes()),
              memory.alignment());
  std::printf("  peak live        %14llu bytes (lower bound for any arena)\n",
              bytes(memory.peak_live_bytes()));
  std::printf("  naive            %14llu bytes (every transient its own allocation)\n",
              bytes(memory.naive_bytes()));
  std::printf("  arena / peak     %14s\n",
              ratio(memory.arena_bytes(), memory.peak_live_bytes()).c_str());
  std::printf("  arena / naive    %14s\n",
              ratio(memory.arena_bytes(), memory.naive_bytes()).c_str());
  std::printf("  elided copies    %14u (variables updated in place)\n", memory.elided_copies());
  std::printf("  in-place reuses  %14u (outputs placed on a dying input)\n",
              memory.in_place_reuses());
  std::printf("Timeline:");
  for (const auto &[name, start] : timeline.programStarts)
    std::printf(" %s from command %lld;", name.c_str(), static_cast<long long>(start));
  std::printf(" %lld commands\n\n", static_cast<long long>(timeline.length));

  std::vector<std::vector<std::string>> rows = {
      {"Index", "Name", "Role", "Size (bytes)", "Arena offset", "Live"}};
  for (int i = 0; i < plan.buffers_size(); ++i) {
    const plan::Buffer &buffer = plan.buffers(i);
    std::string live = timeline.first[i] < 0 ? std::string("unused")
                                             : std::to_string(timeline.first[i]) + ".." +
                                                   std::to_string(timeline.last[i]);
    rows.push_back({std::to_string(i), buffer.name(), roleName(buffer.role()),
                    std::to_string(buffer.size_bytes()),
                    buffer.in_arena() ? std::to_string(buffer.arena_offset()) : "own", live});
  }
  printTable(rows);
  return 0;
}
/// The arena as SVG: x = timeline command, y = arena offset (0 at the bottom).
std::string arenaSvg(const plan::Plan &plan) {
  const plan::MemorySummary &memory = plan.memory();
  Timeline timeline = timelineOf(plan);
  const double left = 90, bottom = 50, top = 30, right = 20, width = 900, height = 500;
  double commands = std::max<int64_t>(timeline.length, 1);
  double arena = double(std::max<uint64_t>({memory.arena_bytes(), memory.peak_live_bytes(), 1}));
  auto x = [&](double command) { return left + command / commands * width; };
  auto y = [&](double offset) { return top + height - offset / arena * height; };
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << left + width + right
      << "\" height=\"" << top + height + bottom << "\" font-family=\"sans-serif\" "
      << "font-size=\"12\">\n";
  svg << "<title>" << xmlEscape(plan.metadata().model_name()) << ": transient arena, "
      << memory.arena_bytes() << " bytes</title>\n";
  svg << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << width << "\" height=\""
      << height << "\" fill=\"#f8f8f8\" stroke=\"#444\"/>\n";
  int index = 0;
  for (int i = 0; i < plan.buffers_size(); ++i) {
    const plan::Buffer &buffer = plan.buffers(i);
    if (!buffer.in_arena() || timeline.first[i] < 0)
      continue;
    double x0 = x(double(timeline.first[i])), x1 = x(double(timeline.last[i] + 1));
    double y0 = y(double(buffer.arena_offset() + buffer.size_bytes()));
    double y1 = y(double(buffer.arena_offset()));
    int hue = (index++ * 47) % 360;
    svg << "<rect x=\"" << x0 << "\" y=\"" << y0 << "\" width=\"" << std::max(x1 - x0, 0.5)
        << "\" height=\"" << std::max(y1 - y0, 0.5) << "\" fill=\"hsl(" << hue
        << ",60%,65%)\" stroke=\"#333\" stroke-width=\"0.3\"><title>" << xmlEscape(buffer.name())
        << " (buffer " << i << "): " << buffer.size_bytes() << " bytes at offset "
        << buffer.arena_offset() << ", live at commands " << timeline.first[i] << ".."
        << timeline.last[i] << "</title></rect>\n";
  }
  double peak = y(double(memory.peak_live_bytes()));
  svg << "<line x1=\"" << left << "\" y1=\"" << peak << "\" x2=\"" << left + width << "\" y2=\""
      << peak << "\" stroke=\"#c00\" stroke-dasharray=\"6,3\"/>\n";
  svg << "<text x=\"" << left + width - 4 << "\" y=\"" << peak - 4
      << "\" text-anchor=\"end\" fill=\"#c00\">peak live " << memory.peak_live_bytes()
      << " bytes</text>\n";
  for (const auto &[name, start] : timeline.programStarts) {
    double at = x(double(start));
    svg << "<line x1=\"" << at << "\" y1=\"" << top << "\" x2=\"" << at << "\" y2=\""
        << top + height << "\" stroke=\"#888\" stroke-dasharray=\"2,2\"/>\n";
    svg << "<text x=\"" << at + 3 << "\" y=\"" << top - 8 << "\">" << xmlEscape(name)
        << "</text>\n";
  }
  svg << "<text x=\"" << left << "\" y=\"" << top + height + 16 << "\">0</text>\n";
  svg << "<text x=\"" << left + width << "\" y=\"" << top + height + 16 << "\" text-anchor=\"end\">"
      << timeline.length << "</text>\n";
  svg << "<text x=\"" << left + width / 2 << "\" y=\"" << top + height + 38
      << "\" text-anchor=\"middle\">command (timeline: the step, then each program)</text>\n";
  svg << "<text x=\"" << left - 6 << "\" y=\"" << top + height
      << "\" text-anchor=\"end\">0</text>\n";
  svg << "<text x=\"" << left - 6 << "\" y=\"" << top + 10 << "\" text-anchor=\"end\">"
      << uint64_t(arena) << "</text>\n";
  svg << "<text transform=\"translate(20," << top + height / 2
      << ") rotate(-90)\" text-anchor=\"middle\">arena offset (bytes)</text>\n";
  svg << "</svg>\n";
  return svg.str();
}

} // namespace kiln::tool::inspect
