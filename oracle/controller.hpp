// The controller: runs scenarios with real system calls on the running kernel.
// Each scenario gets a fresh pid namespace whose pid 1 is the scenario's init;
// every task is a puppet (puppet.hpp) driven one step at a time; after each
// step the controller waits for the kernel to settle (settle.hpp) and records
// what the step observed, in the scenario format's terms.
#pragma once

#include <chrono>
#include <string>

#include "format/scenario.hpp"

namespace pidlab::oracle {

struct RunOptions {
    int step_timeout_ms = 2000;
    int scenario_timeout_ms = 20000;
    int max_tasks = 64;
    // Where the private helper directory goes ("" = $TMPDIR, /tmp or /var/tmp,
    // the first one not mounted nosuid).
    std::string tmpdir;
    // Test hook: before step `stall_step` (0-based) the acting puppet sleeps
    // `stall_ms`, to exercise the timeouts and the cleanup after a kill.
    int stall_step = -1;
    int stall_ms = 0;
    // Print the Profile's summary to stderr at the end of a run.
    bool profile = false;
};

// Where an executor's time goes (pidlab-oracle run --profile, vm-init with
// pidlab.profile=1): wall milliseconds and counts per phase, summed over scenarios.
// Plain data: parallel jobs send theirs to the parent, which adds them up.
struct Profile {
    enum Phase { Load, Setup, Steps, Settle, Final, Teardown, Output, kPhases };
    double ms[kPhases] = {};
    long n[kPhases] = {};
    long call_slices = 0;   // 2 ms poll slices that ran out while a puppet answered
    long scenarios = 0;
    // Filled by snapshot(): /proc examinations and the time spent reading
    // stat/status; CPU ms and minor faults of the executor itself and of its
    // reaped descendants (the scenarios' tasks).
    long proc_reads = 0;
    double proc_read_ms = 0;
    double self_user_ms = 0, self_sys_ms = 0, tasks_user_ms = 0, tasks_sys_ms = 0;
    long self_minflt = 0, tasks_minflt = 0;

    // This process's profile with the counters above filled in.
    static Profile snapshot();
    Profile& operator+=(const Profile& o);
    std::string summary() const;
};
Profile& profile();

// Adds the time from its construction to its end (or stop()) to a phase of profile().
class PhaseTimer {
public:
    explicit PhaseTimer(Profile::Phase p) : p_(p), t0_(std::chrono::steady_clock::now()) {}
    ~PhaseTimer() { stop(); }
    PhaseTimer(const PhaseTimer&) = delete;
    PhaseTimer& operator=(const PhaseTimer&) = delete;
    void stop() {
        if (done_) return;
        done_ = true;
        profile().ms[p_] += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0_).count();
        ++profile().n[p_];
    }

private:
    Profile::Phase p_;
    std::chrono::steady_clock::time_point t0_;
    bool done_ = false;
};

// `uname -r`.
std::string kernel_release();

class Executor {
public:
    // Prepares the exec helpers (copies of this binary, one setuid root) in a
    // private directory; throws std::runtime_error when it cannot.
    explicit Executor(RunOptions opts);
    ~Executor();
    Executor(const Executor&) = delete;
    Executor& operator=(const Executor&) = delete;

    // One scenario, start to cleanup. Never throws for the scenario's sake: a
    // timeout or a failure of the machinery becomes `aborted`.
    scenario::RunResult run(const scenario::Scenario& s);
    // Loads and runs a file; a FormatError becomes an aborted result.
    scenario::RunResult run_file(const std::string& path);

    const std::string& kernel() const { return kernel_; }

private:
    RunOptions opts_;
    std::string kernel_;
    std::string dir_, helper_, helper_suid_;
    int lock_fd_ = -1;  // flock'd DIR/lock: the directory is in use while any holder lives
    int serial_ = 0;
};

}  // namespace pidlab::oracle
