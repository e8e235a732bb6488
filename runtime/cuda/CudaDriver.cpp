//===- CudaDriver.cpp - The CUDA driver API, loaded at run time -----------===//
//
// dlopen + dlsym of every entry point in CudaEntryPoints.def, and the mapping
// of CUresult to absl::Status.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/cuda/CudaDriver.h"

#include "absl/strings/str_cat.h"

#include <cstdlib>
#include <dlfcn.h>
#include <map>
#include <memory>
#include <mutex>

namespace kiln::cuda {
namespace {

/// Expands cuda.h's version macros first: KILN_SYMBOL(cuMemAlloc) is "cuMemAlloc_v2".
#define KILN_SYMBOL_TEXT(name) #name
#define KILN_SYMBOL(name) KILN_SYMBOL_TEXT(name)

/// The older name of an entry point whose current version (CUDA 13's headers) a CUDA 12
/// driver may lack, when both have the same signature; null for the others.
const char *olderSymbol(std::string_view symbol) {
  return symbol == "cuEventElapsedTime_v2" ? "cuEventElapsedTime" : nullptr;
}

/// Resolves `symbol` in `library`, then `fallback` (an older name of the same function with
/// the same signature) when given.
template <typename Function>
absl::Status resolve(void *library, const std::string &path, const char *symbol,
                     const char *fallback, Function &function) {
  void *address = dlsym(library, symbol);
  if (!address && fallback)
    address = dlsym(library, fallback);
  if (!address)
    return absl::FailedPreconditionError(absl::StrCat(
        "CUDA driver '", path, "' lacks the entry point ", symbol,
        "; Kiln needs a driver for CUDA 12 or newer (HINT: update the NVIDIA driver)"));
  function = reinterpret_cast<Function>(address);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<CudaDriver>> open(const std::string &path) {
  void *library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *error = dlerror();
    return absl::FailedPreconditionError(absl::StrCat(
        "CUDA driver not found: dlopen(\"", path, "\") failed: ", error ? error : "unknown error",
        " (HINT: install the NVIDIA driver, or set ", kDriverPathVariable,
        " to the path of libcuda.so.1)"));
  }
  // The library stays loaded for the life of the process: the driver does not support being
  // unloaded while contexts exist.
  auto driver = std::make_unique<CudaDriver>();
  driver->path = path;
#define KILN_CUDA_ENTRY(name)                                                                      \
  KILN_RETURN_IF_ERROR(                                                                            \
      resolve(library, path, KILN_SYMBOL(name), olderSymbol(KILN_SYMBOL(name)), driver->name));
#include "kiln/runtime/cuda/CudaEntryPoints.def"
#undef KILN_CUDA_ENTRY
  driver->initResult = driver->cuInit(0);
  if (driver->initResult == CUDA_SUCCESS)
    driver->cuDriverGetVersion(&driver->version);
  return driver;
}

} // namespace

std::string driverLibraryPath() {
  const char *overridden = std::getenv(kDriverPathVariable);
  return overridden && *overridden ? std::string(overridden) : std::string(kDefaultDriverPath);
}

absl::StatusOr<const CudaDriver *> CudaDriver::load() {
  static std::mutex mutex;
  static auto *loaded = new std::map<std::string, std::unique_ptr<CudaDriver>>();
  std::string path = driverLibraryPath();
  std::lock_guard<std::mutex> lock(mutex);
  auto found = loaded->find(path);
  if (found != loaded->end())
    return found->second.get();
  absl::StatusOr<std::unique_ptr<CudaDriver>> driver = open(path);
  if (!driver.ok())
    return driver.status();
  return loaded->emplace(path, *std::move(driver)).first->second.get();
}

std::string CudaDriver::describe(CUresult result) const {
  const char *name = nullptr, *description = nullptr;
  if (cuGetErrorName(result, &name) != CUDA_SUCCESS || !name)
    return absl::StrCat("CUresult(", static_cast<int>(result), ")");
  if (cuGetErrorString(result, &description) != CUDA_SUCCESS || !description)
    return name;
  return absl::StrCat(name, ": ", description);
}

std::string formatCudaError(std::string_view call, std::string_view activity,
                            std::string_view resultName, std::string_view resultDescription,
                            std::string_view detail, const char *file, int line) {
  std::string message(call);
  absl::StrAppend(&message, "(", absl::string_view(activity.data(), activity.size()),
                  "): ", absl::string_view(resultName.data(), resultName.size()));
  if (!resultDescription.empty())
    absl::StrAppend(&message, ": ",
                    absl::string_view(resultDescription.data(), resultDescription.size()));
  absl::StrAppend(&message, absl::string_view(detail.data(), detail.size()));
  std::string_view fileName(file);
  if (size_t root = fileName.find("runtime/cuda/"); root != std::string_view::npos)
    fileName.remove_prefix(root);
  absl::StrAppend(&message, " [", absl::string_view(fileName.data(), fileName.size()), ":", line,
                  "]");
  return message;
}

absl::Status cudaError(const CudaDriver &driver, CUresult result, std::string_view call,
                       std::string_view activity, const char *file, int line,
                       std::string_view detail) {
  const char *name = nullptr, *description = nullptr;
  std::string fallbackName = absl::StrCat("CUresult(", static_cast<int>(result), ")");
  if (driver.cuGetErrorName(result, &name) != CUDA_SUCCESS || !name)
    name = fallbackName.c_str();
  if (driver.cuGetErrorString(result, &description) != CUDA_SUCCESS || !description)
    description = "";
  std::string message = formatCudaError(call, activity, name, description, detail, file, line);
  switch (result) {
  case CUDA_ERROR_OUT_OF_MEMORY:
    return absl::ResourceExhaustedError(message);
  case CUDA_ERROR_ILLEGAL_ADDRESS:
  case CUDA_ERROR_LAUNCH_FAILED:
  case CUDA_ERROR_LAUNCH_TIMEOUT:
  case CUDA_ERROR_HARDWARE_STACK_ERROR:
  case CUDA_ERROR_ILLEGAL_INSTRUCTION:
  case CUDA_ERROR_MISALIGNED_ADDRESS:
  case CUDA_ERROR_INVALID_ADDRESS_SPACE:
  case CUDA_ERROR_INVALID_PC:
  case CUDA_ERROR_ECC_UNCORRECTABLE:
  case CUDA_ERROR_CONTEXT_IS_DESTROYED:
    return absl::UnavailableError(message);
  case CUDA_ERROR_NO_DEVICE:
  case CUDA_ERROR_INVALID_DEVICE:
  case CUDA_ERROR_INVALID_PTX:
  case CUDA_ERROR_UNSUPPORTED_PTX_VERSION:
  case CUDA_ERROR_NO_BINARY_FOR_GPU:
  case CUDA_ERROR_JIT_COMPILER_NOT_FOUND:
  case CUDA_ERROR_NOT_FOUND:
    return absl::FailedPreconditionError(message);
  default:
    return absl::InternalError(message);
  }
}

} // namespace kiln::cuda
