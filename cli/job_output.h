#pragma once
// Progress and summary printing shared by `unicorn quantize` and `unicorn pack`.
#include <string>

#include "runtime/quantize_job.h"

namespace unicorn::cli {

// A progress bar on a terminal (stderr is a TTY), plain "N/M name" lines otherwise; silent when quiet.
QuantizeProgress make_progress_printer(const std::string& verb, bool quiet);
// Human summary (stdout), or the JSON summary when json is set.
void print_job_summary(const QuantizeJobOptions& options, const QuantizeJobResult& result, const std::string& what,
                       bool json);
// Per-tensor report (name, type, shape, bytes, RMSE and max-abs error vs the source) written atomically to path.
void write_job_report(const std::string& path, const QuantizeJobOptions& options, const QuantizeJobResult& result,
                      const std::string& what);

}  // namespace unicorn::cli
