// Running the oracle from another program: the host executor as a subprocess,
// and the parser of its output (also used for what a VM prints on its serial port).
#pragma once

#include <istream>
#include <string>
#include <vector>

#include "format/scenario.hpp"

namespace pidlab::oracle {

struct HostOptions {
    // The pidlab-oracle binary. Empty: $PIDLAB_ORACLE, else next to the calling
    // executable, else ../oracle/pidlab-oracle from it (the build tree's layout).
    std::string oracle_path;
    int step_timeout_ms = 0;      // 0: the oracle's default (2000)
    int scenario_timeout_ms = 0;  // 0: the oracle's default (20000)
    int max_tasks = 0;            // 0: the oracle's default (64)
    int jobs = 0;                 // scenarios at a time (--jobs); 0: the oracle's default (1)
    std::vector<std::string> extra_args;  // passed after `run` (e.g. --tmpdir DIR, --debug-stall S:MS)
};

// Runs the scenario files on the running kernel; results in file order.
// Throws std::runtime_error when the oracle cannot be started, dies, or prints
// something that is not its output.
std::vector<scenario::RunResult> run_on_host(const std::vector<std::string>& files, const HostOptions& opts = {});

// `uname -r`.
std::string host_kernel_release();

// Where run_on_host finds the binary (throws, naming the places it tried).
std::string find_oracle_binary(const std::string& explicit_path = "");

struct OracleOutput {
    std::string kernel;                        // from the done line
    std::vector<scenario::RunResult> results;  // in file order when files were given, else as printed
};

struct ParseOptions {
    // Serial consoles may carry stray lines: skip lines that do not start with '{'.
    bool skip_noise = false;
    std::string source = "oracle output";  // for error messages
};

// Parses the JSON lines of `pidlab-oracle run` / `vm-init`. Throws
// std::runtime_error on an {"error": ...} line, on a malformed line, when the
// done line is missing (the executor died), or when a file's result is missing.
OracleOutput parse_oracle_output(std::istream& in, const std::vector<std::string>& files = {},
                                 const ParseOptions& opts = {});

// The same over the lines a VM run returned (oracle::vm::VmRun::lines), noise on the
// serial port skipped; errors name "the SERIES VM".
OracleOutput parse_vm_lines(const std::vector<std::string>& lines, const std::vector<std::string>& files,
                            const std::string& series);

}  // namespace pidlab::oracle
