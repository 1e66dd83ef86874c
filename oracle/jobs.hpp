// Running a batch of scenario files: in this process, or in `jobs` forked
// executors at once (a VM with several vCPUs, a host with several cores).
// Either way the output is the same: one JSON line per file, in the files'
// order, then {"done": true, "kernel": RELEASE, "scenarios": N}.
#pragma once

#include <string>
#include <vector>

#include "oracle/controller.hpp"

namespace pidlab::oracle {

// Writes `line` and a newline to `fd`, all of it; throws std::runtime_error
// when it cannot.
void write_line(int fd, const std::string& line);

// Runs every file and writes the lines to `out`. With jobs > 1 each job is a
// forked process with its own Executor (its own helper directory), killed
// with its parent (PR_SET_PDEATHSIG); the parent hands out the files one at a
// time, so a slow scenario does not hold up the others' share. Throws
// std::runtime_error when an executor cannot start or a job dies (the lines
// before the failed file are written by then). With opts.profile the summed
// Profile goes to stderr.
void run_files(const RunOptions& opts, const std::vector<std::string>& files, int out, int jobs);

}  // namespace pidlab::oracle
