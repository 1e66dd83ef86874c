// The scenario format (docs/scenario-format.md, the contract for users) in code:
// the types a scenario file loads into, the observations a step produces, and
// the comparison of an observation with a step's `expect`. The model, the
// oracle, the checker and the property tests all meet here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "format/ops.hpp"

namespace pidlab::scenario {

// A bad scenario: the file, the JSON path (e.g. `steps[3].flags[1]`) and the problem.
struct FormatError : std::runtime_error {
    std::string file, path, problem;
    FormatError(std::string file_, std::string path_, std::string problem_);
};

// scenario::Op and the op table: format/ops.hpp (from format/ops.def).
const char* op_name(Op op);

enum class Handler : uint8_t { Dfl, Ign, Catch };
enum class IdType : uint8_t { Pid, All, Pidfd };
enum class PrctlOption : uint8_t {
    SetChildSubreaper, GetChildSubreaper, SetNoNewPrivs, GetNoNewPrivs, SetPdeathsig, GetPdeathsig,
};
enum class PtraceRequest : uint8_t { Seize, Detach };

struct WaitStatus {
    bool signaled = false;  // {"signaled": SIG} vs {"exited": N}
    int value = 0;
    bool operator==(const WaitStatus&) const = default;
};

struct Ret {
    bool ok = false;       // "ok": a pid or fd, named by the step
    long long value = 0;   // otherwise the number returned (-1 on failure)
    bool operator==(const Ret&) const = default;
};

// One step's observation; as an expectation, a subset (only present keys count).
struct Observation {
    std::optional<Ret> ret;
    std::optional<int> err;                        // errno number
    std::optional<std::string> pid;                // waitpid/waitid: the task reported
    std::optional<WaitStatus> status;
    std::optional<unsigned> revents;               // poll: bits set (observed exactly)
    std::optional<unsigned> revents_clear;         // expectations only: bits that must be clear
    std::optional<std::optional<WaitStatus>> exit; // pidfd_get_info: null = no exit info
    std::optional<long long> value;                // prctl getters
    std::optional<int> euid;                       // execve, observe
    std::optional<bool> pending;                   // signal_pending
    // a task's observation (observe, final)
    std::optional<std::string> state;              // running | zombie | reaped
    std::optional<std::string> parent;
    std::optional<int> exit_signal;
    std::optional<bool> no_new_privs;
    std::optional<bool> subreaper;
    // the step could not run (its task is gone, it would block, ...)
    std::optional<std::string> error;
    // not compared: which kernel function's rule decided the outcome
    std::string rule;

    bool operator==(const Observation&) const;
};

// A step's op and the arguments that are values (not names of tasks or fds): the part a
// scenario step (names) and a resolved step (model::Call: task ids and fd numbers) share.
struct StepArgs {
    Op op = Op::Observe;
    uint64_t flags = 0;           // clone: named flags (semantic); pidfd_open/sigaction: flag bits
    uint64_t raw_flags = 0;       // clone: flags given as numbers (ABI bits, decoded by the kernel revision)
    int exit_signal = 0;
    bool target_any = false;      // waitpid -1 / waitid P_ALL
    int code = 0;
    int sig = 0;
    Handler handler = Handler::Dfl;
    unsigned options = 0;         // wait options
    IdType idtype = IdType::Pid;
    PrctlOption prctl = PrctlOption::GetNoNewPrivs;
    long long value = 0;
    int uid = 0;
    bool setuid_root = false;
    bool keep_fds = false;        // execve: pidfds survive (FD_CLOEXEC cleared)
    PtraceRequest ptrace = PtraceRequest::Seize;
    unsigned ptrace_options = 0;  // PTRACE_O_EXITKILL for seize (auto-attach options stop the tracee: not supported)
    bool operator==(const StepArgs&) const = default;
};

struct Step : StepArgs {
    std::string task;
    std::string child;            // fork/clone/thread_create: the new task
    std::string fd;               // an existing fd name
    std::string new_fd;           // clone3 `pidfd`, pidfd_open `fd`, dup `as`
    std::string target;           // a task name; empty when target_any
    std::optional<Observation> expect;
};

inline constexpr unsigned kPTRACE_O_EXITKILL = 0x100000;

struct Scenario {
    std::string file;             // where it came from (for error messages)
    std::string name;
    std::string description;
    std::string kernel;           // the revision its expectations were written for ("" = any)
    std::string violates;         // counterexamples: the invariant they break
    int root_uid = 0;
    bool root_caps = true;
    std::vector<Step> steps;
    std::vector<std::pair<std::string, Observation>> final;
    std::vector<std::string> tasks;  // every task name, in order of creation ("init", "T", ...)
};

// Limits that keep untrusted input bounded.
inline constexpr size_t kMaxFileBytes = 4 << 20;
inline constexpr int kMaxDepth = 32;
inline constexpr size_t kMaxSteps = 4096;
inline constexpr size_t kMaxTasks = 64;  // init and T included

// Parses with simdjson (the fast path) and, for anything the fast path cannot
// vouch for -- bad JSON, a duplicate key, any error in the scenario -- with
// nlohmann::json (the reference), which gives every error its exact message.
Scenario parse_scenario(const std::string& text, const std::string& file);
// The reference path alone: the same result or the same FormatError as
// parse_scenario, always (tests/format/fastpath_test.cpp, fuzz/fuzz_replay.cpp).
Scenario parse_scenario_reference(const std::string& text, const std::string& file);
// The fast path alone: the scenario, or nullopt for any text it does not vouch
// for (then parse_scenario asks the reference). For the tests.
std::optional<Scenario> parse_scenario_fast(const std::string& text, const std::string& file);
Scenario load_scenario_file(const std::string& path);
// Every *.json below the paths given (files as they are), sorted; throws FormatError for a missing path.
std::vector<std::string> collect_scenario_files(const std::vector<std::string>& paths);

nlohmann::ordered_json to_json(const Scenario& s);
nlohmann::ordered_json to_json(const Step& s);
nlohmann::ordered_json to_json(const Observation& o);
Observation observation_from_json(const nlohmann::json& j, const std::string& file, const std::string& path);

// One difference between an expectation and an observation.
struct Mismatch {
    std::string key, expected, observed;
};
std::vector<Mismatch> compare(const Observation& expect, const Observation& observed);

// A whole run's observations, in the same form from the model and from a real kernel.
struct RunResult {
    std::string scenario;         // name
    std::string file;
    std::string kernel;           // profile name or the real kernel's release
    std::vector<Observation> steps;
    std::map<std::string, Observation> final;  // every task of the scenario
    std::optional<std::string> aborted;        // the run stopped early (the reason)
};
nlohmann::ordered_json to_json(const RunResult& r);
RunResult run_result_from_json(const nlohmann::json& j, const std::string& file);

// One-line human rendering of a step and of an observation.
std::string describe_step(const Step& s);
std::string describe_observation(const Observation& o);

}  // namespace pidlab::scenario
