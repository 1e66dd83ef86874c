// Differential testing against real kernels (`pidlab difftest`): random valid
// scenarios run in the model (the profile matching the kernel) and, written to a
// temporary directory as files, in one batch through the oracle (the host kernel,
// or one of Debian's kernels booted under QEMU). Every disagreement is shrunk by
// re-running candidates on the same kernel (delta debugging over tasks and steps,
// each round one oracle run or one VM boot) and saved as a scenario whose
// expectations are the kernel's own observations.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cli/crosscheck.hpp"
#include "format/scenario.hpp"
#include "model/profile.hpp"
#include "prop/gen.hpp"

namespace pidlab::prop {

// Runs scenario files on one real kernel, results in file order. Throws std::runtime_error
// when the kernel run fails as a whole (the oracle died, the VM did not boot).
class KernelRunner {
public:
    virtual ~KernelRunner() = default;
    virtual std::vector<scenario::RunResult> run(const std::vector<std::string>& files) = 0;
    // The kernel's release (known after the first run for a VM) and what it is ("host", "Debian 7.2.13 ...").
    virtual std::string release() const = 0;
    virtual std::string build() const = 0;
    // How many files one run should take at most (a VM boot amortises better over big batches).
    virtual size_t max_batch() const = 0;
    // The version the model profile is chosen by (known before the first run).
    virtual std::string version() const = 0;
};

// The host kernel through pidlab-oracle (run_on_host); `oracle` empty: find it. A batch runs
// `jobs` scenarios at a time (pidlab-oracle run --jobs).
std::unique_ptr<KernelRunner> host_runner(const std::string& oracle = "", int step_timeout_ms = 0, int jobs = 2);
// Debian's kernel `series` under QEMU (oracle::vm::run_in_vm) with the static oracle as /init.
// `smp`: the guest's CPUs (QEMU -smp; under multi-threaded TCG each is a host thread, and the
// guest runs one scenario per CPU at a time); 0: one per host CPU, at most 4.
std::unique_ptr<KernelRunner> vm_runner(const std::string& series, const std::string& oracle = "",
                                        int step_timeout_ms = 0, int smp = 0);

// cli::crosscheck_results (it lives in the pidlab executable: the caller passes it in).
using CompareFn = std::function<cli::CrossReport(const std::vector<scenario::Scenario>&,
                                                 const std::vector<scenario::RunResult>&, const std::string& release,
                                                 const std::string& build)>;

struct DifftestOptions {
    GenConfig gen = difftest_config();
    uint64_t seed = 1;
    uint64_t cases = 300;
    size_t steps = 12;           // steps per scenario
    size_t batch = 0;            // scenarios per kernel run (0: the runner's max_batch)
    std::string out_dir;         // where shrunk disagreements are written ("" : nowhere)
    bool shrink = true;
    size_t max_shrink_rounds = 60;   // kernel runs spent on shrinking one disagreement
    size_t max_shrinks = 10;         // disagreements shrunk (distinct signatures, in case order)
    std::string keep_dir;        // keep the generated scenario files here ("" : a temporary directory, removed)
    bool allow_races = false;    // also generate steps whose results depend on the scheduler (cstep_racy)
    std::function<void(const std::string& line)> log;  // progress lines
    static GenConfig difftest_config();
};

struct Disagreement {
    uint64_t case_index = 0;
    uint64_t seed = 0;               // the case's seed
    std::string signature;           // the first difference: "STEP_OP:key,key" or "final:key" or "error"
    size_t same_signature = 0;       // how many cases showed it
    scenario::Scenario found;        // the generated scenario
    scenario::Scenario shrunk;       // shrunk on the kernel, with the kernel's observations as expectations
    cli::ScenarioDiff diff;          // the shrunk scenario's differences
    bool reproducible = true;        // the shrunk scenario disagreed again when run once more
    size_t shrink_rounds = 0;
    std::string file;                // where it was written
};

struct DifftestResult {
    std::string release, build, profile;
    uint64_t cases = 0, steps = 0;
    size_t disagreeing_cases = 0;
    std::vector<Disagreement> disagreements;  // one per signature
    double seconds = 0;              // wall time of the whole run
    double kernel_seconds = 0;       // of the generated batches on the kernel (shrinking excluded)
    double model_seconds = 0;        // generating and replaying them in the model
    size_t kernel_runs = 0;
};

// The signature of a disagreement (the first step or final observation where they differ).
std::string signature_of(const cli::ScenarioDiff& d, const scenario::Scenario& s);

// `s` with the kernel's observations as its expectations (every step, and `final` of every task).
scenario::Scenario with_kernel_expectations(const scenario::Scenario& s, const scenario::RunResult& k,
                                            const std::string& kernel_field);

DifftestResult difftest(KernelRunner& kernel, const CompareFn& compare, const DifftestOptions& o);

}  // namespace pidlab::prop
