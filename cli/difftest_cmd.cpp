// pidlab difftest: random valid scenarios in the model and on a real kernel (the
// host, or one of Debian's kernels under QEMU), compared as `pidlab crosscheck`
// compares them; every disagreement is shrunk on that kernel and written as a
// scenario whose expectations are the kernel's observations.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/crosscheck.hpp"
#include "oracle/vm/vm_runner.hpp"
#include "prop/difftest.hpp"

namespace pidlab::cli {

namespace {

struct DifftestArgs {
    bool host = false;
    std::string vm;
    uint64_t cases = 300;
    uint64_t seed = 1;
    std::string out;
    size_t steps = 12;
    size_t batch = 0;
    bool no_shrink = false;
    size_t max_shrink_rounds = 60;
    size_t max_shrinks = 10;
    std::string keep;
    int step_timeout_ms = 0;
    int jobs = 0;
    bool json = false;
    bool quiet = false;
    std::string weights;
    bool allow_races = false;
};

std::string show(const scenario::Observation& o) {
    std::string s = scenario::describe_observation(o);
    return s.empty() ? "(nothing)" : s;
}

int run_difftest(const DifftestArgs& a) {
    if (a.host == !a.vm.empty()) {
        std::cerr << "pidlab difftest: choose --host or --vm VERSION\n";
        return 2;
    }
    if (!a.vm.empty()) {
        auto known = oracle::vm::known_series();
        if (std::find(known.begin(), known.end(), a.vm) == known.end()) {
            std::cerr << "pidlab difftest: unknown VM kernel series \"" << a.vm << "\" (known:";
            for (const auto& k : known) std::cerr << " " << k;
            std::cerr << ")\n";
            return 2;
        }
    }
    if (a.cases == 0 || a.steps == 0 || a.steps > scenario::kMaxSteps) {
        std::cerr << "pidlab difftest: --cases and --steps must be positive (steps <= " << scenario::kMaxSteps << ")\n";
        return 2;
    }
    prop::DifftestOptions o;
    o.seed = a.seed;
    o.cases = a.cases;
    o.steps = a.steps;
    o.batch = a.batch;
    o.out_dir = a.out;
    o.shrink = !a.no_shrink;
    o.max_shrink_rounds = a.max_shrink_rounds;
    o.max_shrinks = a.max_shrinks;
    o.keep_dir = a.keep;
    o.allow_races = a.allow_races;
    if (!a.weights.empty()) {
        std::string err;
        if (!o.gen.set_weights(a.weights, err)) {
            std::cerr << "pidlab difftest: --weights: " << err << "\n";
            return 2;
        }
    }
    if (!a.quiet) o.log = [](const std::string& l) { std::cerr << l << "\n"; };
    prop::CompareFn compare = [](const std::vector<scenario::Scenario>& s, const std::vector<scenario::RunResult>& r,
                                 const std::string& release, const std::string& build) {
        return crosscheck_results(s, r, release, build);
    };
    prop::DifftestResult r;
    try {
        int jobs = a.jobs > 0 ? a.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        auto kernel = a.host ? prop::host_runner("", a.step_timeout_ms, jobs) : prop::vm_runner(a.vm, "", a.step_timeout_ms);
        r = prop::difftest(*kernel, compare, o);
    } catch (const std::exception& e) {
        std::cerr << "pidlab difftest: " << e.what() << "\n";
        return 2;
    }
    if (a.json) {
        nlohmann::ordered_json j;
        j["kernel"] = r.release;
        j["build"] = r.build;
        j["profile"] = r.profile;
        j["seed"] = a.seed;
        j["cases"] = r.cases;
        j["steps"] = r.steps;
        j["disagreeing_cases"] = r.disagreeing_cases;
        j["seconds"] = r.seconds;
        j["kernel_seconds"] = r.kernel_seconds;
        j["scenarios_per_kernel_second"] = r.kernel_seconds > 0 ? static_cast<double>(r.cases) / r.kernel_seconds : 0.0;
        j["disagreements"] = nlohmann::ordered_json::array();
        for (const auto& d : r.disagreements) {
            nlohmann::ordered_json dj;
            dj["signature"] = d.signature;
            dj["cases"] = d.same_signature;
            dj["first_case"] = d.case_index;
            dj["steps"] = d.found.steps.size();
            dj["shrunk_steps"] = d.shrunk.steps.size();
            dj["reproducible"] = d.reproducible;
            if (!d.file.empty()) dj["file"] = d.file;
            j["disagreements"].push_back(dj);
        }
        std::cout << j.dump(2) << "\n";
    } else {
        fmt::print("== difftest on {} ({}) — model profile {}, seed {}\n", r.release, r.build, r.profile, a.seed);
        for (const auto& d : r.disagreements) {
            fmt::print("DISAGREE  {}  ({} case(s), first: case {}; shrunk from {} to {} steps{})\n", d.signature,
                       d.same_signature, d.case_index, d.found.steps.size(), d.shrunk.steps.size(),
                       d.reproducible ? "" : "; NOT REPRODUCIBLE");
            for (size_t i = 0; i < d.shrunk.steps.size(); ++i)
                fmt::print("    {:>2}  {}\n", i, scenario::describe_step(d.shrunk.steps[i]));
            for (const auto& sd : d.diff.steps) {
                fmt::print("    #{} model : {}{}\n", sd.index, show(sd.model), sd.model.rule.empty() ? "" : "   [" + sd.model.rule + "]");
                fmt::print("    #{} kernel: {}\n", sd.index, show(sd.kernel));
            }
            for (const auto& fd : d.diff.finals) {
                fmt::print("    final {} model : {}\n", fd.index_name, show(fd.model));
                fmt::print("    final {} kernel: {}\n", fd.index_name, show(fd.kernel));
            }
            if (!d.diff.model_error.empty()) fmt::print("    model error: {}\n", d.diff.model_error);
            if (!d.diff.kernel_error.empty()) fmt::print("    kernel error: {}\n", d.diff.kernel_error);
            if (!d.file.empty()) fmt::print("    written to {}\n", d.file);
        }
    }
    std::cerr << fmt::format(
        "difftest: {} scenarios ({} steps) on {}: {} disagreeing, {} distinct; {:.1f}s ({:.1f}s on the kernel: {:.0f} "
        "scenarios/s; {} kernel runs)\n",
        r.cases, r.steps, r.release, r.disagreeing_cases, r.disagreements.size(), r.seconds, r.kernel_seconds,
        r.kernel_seconds > 0 ? static_cast<double>(r.cases) / r.kernel_seconds : 0.0, r.kernel_runs);
    return r.disagreements.empty() ? 0 : 1;
}

}  // namespace

Runner add_difftest(CLI::App& app) {
    auto a = std::make_shared<DifftestArgs>();
    auto* sub = app.add_subcommand(
        "difftest", "Random scenarios in the model and on a real kernel; shrink and save every disagreement");
    sub->add_flag("--host", a->host, "Run on the running kernel (needs root)");
    sub->add_option("--vm", a->vm, "Boot Debian's kernel VERSION (6.1 6.12 7.1 7.2 7.3) under QEMU, once for all cases");
    sub->add_option("--cases", a->cases, "Number of random scenarios")->capture_default_str();
    sub->add_option("--seed", a->seed, "Seed (the same seed gives the same scenarios)")->capture_default_str();
    sub->add_option("--out", a->out, "Write each shrunk disagreement here (kernel observations as expectations)");
    sub->add_option("--steps", a->steps, "Steps per scenario")->capture_default_str();
    sub->add_option("--batch", a->batch, "Scenarios per kernel run (default: 500 on the host, all in a VM)");
    sub->add_flag("--no-shrink", a->no_shrink, "Save disagreements as found");
    sub->add_option("--max-shrink-rounds", a->max_shrink_rounds, "Kernel runs (VM boots) spent shrinking one disagreement")
        ->capture_default_str();
    sub->add_option("--max-shrinks", a->max_shrinks, "Distinct disagreements to shrink")->capture_default_str();
    sub->add_option("--keep", a->keep, "Keep the generated scenario files in this directory");
    sub->add_option("--step-timeout-ms", a->step_timeout_ms, "The oracle's per-step settle timeout");
    sub->add_option("-j,--jobs", a->jobs, "Host: scenarios of a batch running at the same time (pidlab-oracle run --jobs; default: CPUs)");
    sub->add_option("--weights", a->weights, "Op weights, e.g. clone3:30,ptrace:0 (see pidlab random --help)");
    sub->add_flag("--allow-races", a->allow_races,
                  "Also generate steps whose results depend on the scheduler (two deaths racing, a caller killed by "
                  "its own call's consequences)");
    sub->add_flag("--json", a->json, "Print a JSON summary");
    sub->add_flag("-q,--quiet", a->quiet, "No progress lines");
    return [a] { return run_difftest(*a); };
}

}  // namespace pidlab::cli
