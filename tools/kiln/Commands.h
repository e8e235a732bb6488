//===- Commands.h - The kiln tool's subcommands -----------------*- C++ -*-===//
//
// Each subcommand takes its arguments (after the subcommand's name) and
// returns the process exit code. Failures print one message saying what went
// wrong and what to do, and return non-zero.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TOOLS_KILN_COMMANDS_H
#define KILN_TOOLS_KILN_COMMANDS_H

#include <string>
#include <vector>

namespace kiln::tool {

int runCompile(const std::vector<std::string> &args);
int runTrain(const std::vector<std::string> &args);
int runInspect(const std::vector<std::string> &args);
int runExport(const std::vector<std::string> &args);
int runGenerate(const std::vector<std::string> &args);

extern const char *const kCompileHelp;
extern const char *const kTrainHelp;
extern const char *const kInspectHelp;
extern const char *const kExportHelp;
extern const char *const kGenerateHelp;

} // namespace kiln::tool

#endif // KILN_TOOLS_KILN_COMMANDS_H
