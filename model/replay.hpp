// Replay of a scenario in the model: each step becomes the model's system call,
// the kernel settles, and the step's observation is compared with `expect`.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "format/scenario.hpp"
#include "model/kernel.hpp"

namespace pidlab::model {

struct StepOutcome {
    scenario::Observation obs;
    std::vector<scenario::Mismatch> mismatches;
    std::string tree;  // the process tree after the step (when asked for)
};

struct ReplayResult {
    std::string file, scenario, profile;
    bool foreign = false;  // the profile is not the scenario's own kernel
    std::vector<StepOutcome> steps;
    std::map<std::string, scenario::Observation> final;                    // every task
    std::vector<std::pair<std::string, std::vector<scenario::Mismatch>>> final_mismatches;
    std::optional<scenario::FormatError> error;  // an error of the scenario (bad input: exit 2)
    bool passed() const;
    size_t mismatch_count() const;
    scenario::RunResult run_result() const;  // the observations in the form the oracle reports
};

struct ReplayOptions {
    bool trees = false;
    // Stop after this many steps (the checker replays prefixes); -1: all.
    int max_steps = -1;
};

// Replays a scenario step by step, keeping the name maps (tasks and fds) in step
// with the model's state. The checker drives it one step at a time.
class Replayer {
public:
    Replayer(const scenario::Scenario& s, const Profile& p);
    // Runs steps[i] (in order) and settles. Throws scenario::FormatError when the
    // step cannot run on the scenario's own kernel.
    StepOutcome step(size_t i, bool tree = false);
    std::map<std::string, scenario::Observation> final_observations() const;
    scenario::Observation observe(const std::string& task) const;
    std::string tree() const;    // text rendering of the process tree
    std::string graphviz() const;  // the same as Graphviz
    const Kernel& kernel() const { return k_; }
    Kernel& kernel() { return k_; }
    bool foreign() const { return foreign_; }
    TaskId task_id(const std::string& name) const;
    const std::string& task_name(TaskId t) const;

private:
    [[noreturn]] void scenario_error(size_t i, const std::string& key, const std::string& problem) const;
    scenario::Observation unrunnable(size_t i, const std::string& key, const std::string& problem,
                                     const char* code = nullptr) const;
    scenario::Observation call_observation(const SysRet& r, bool returned) const;
    int fd_number(TaskId t, const std::string& name) const;
    void sync_fd_names();

    const scenario::Scenario& s_;
    Kernel k_;
    bool foreign_;
    std::map<std::string, TaskId> ids_;
    std::vector<std::string> names_;              // by TaskId
    std::map<std::string, size_t> created_at_;    // task name -> step that tried to create it
    std::map<int, std::map<std::string, int>> fds_;  // fd table -> name -> fd
};

// What a call's return shows: `ret` ("ok" for a pid or fd) and `errno`.
scenario::Observation return_observation(const SysRet& r);

ReplayResult replay(const scenario::Scenario& s, const Profile& p, const ReplayOptions& opts = {});

}  // namespace pidlab::model
