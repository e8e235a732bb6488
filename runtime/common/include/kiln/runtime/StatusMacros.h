//===- StatusMacros.h - Returning a failed absl::Status early ---*- C++ -*-===//

#ifndef KILN_RUNTIME_STATUSMACROS_H
#define KILN_RUNTIME_STATUSMACROS_H

#include "absl/status/status.h"

/// Returns `expr` (an absl::Status) from the enclosing function if it is not OK.
#define KILN_RETURN_IF_ERROR(expr)                                                                 \
  do {                                                                                             \
    ::absl::Status kilnStatus = (expr);                                                            \
    if (!kilnStatus.ok())                                                                          \
      return kilnStatus;                                                                           \
  } while (false)

#endif // KILN_RUNTIME_STATUSMACROS_H
