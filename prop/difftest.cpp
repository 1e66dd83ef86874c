#include "prop/difftest.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "model/replay.hpp"
#include "oracle/client.hpp"
#include "oracle/vm/vm_runner.hpp"
#include "prop/shrink.hpp"
#include "prop/world.hpp"

namespace pidlab::prop {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- kernels

namespace {

class HostRunner final : public KernelRunner {
public:
    HostRunner(std::string oracle, int step_timeout_ms, int jobs) : jobs_(std::max(1, jobs)) {
        opts_.oracle_path = std::move(oracle);
        opts_.step_timeout_ms = step_timeout_ms;
        release_ = oracle::host_kernel_release();
    }
    // One oracle process running `jobs` scenarios at a time (pidlab-oracle run --jobs): the
    // oracle spends most of its time waiting for tasks to settle.
    std::vector<scenario::RunResult> run(const std::vector<std::string>& files) override {
        oracle::HostOptions o = opts_;
        o.jobs = static_cast<int>(std::min<size_t>(static_cast<size_t>(jobs_), std::max<size_t>(1, files.size() / 8)));
        return oracle::run_on_host(files, o);
    }
    std::string release() const override { return release_; }
    std::string build() const override { return "host"; }
    size_t max_batch() const override { return 500; }
    std::string version() const override { return release_; }

private:
    int jobs_;
    oracle::HostOptions opts_;
    std::string release_;
};

class VmRunner final : public KernelRunner {
public:
    VmRunner(std::string series, std::string oracle, int step_timeout_ms, int smp)
        : series_(std::move(series)), init_(oracle::find_oracle_binary(oracle)) {
        opts_.smp = std::max(0, smp);
        if (step_timeout_ms > 0) opts_.init_args.push_back("--step-timeout-ms=" + std::to_string(step_timeout_ms));
    }
    std::vector<scenario::RunResult> run(const std::vector<std::string>& files) override {
        // A boot whose guest crashed for the emulation's sake is tried again by run_in_vm.
        oracle::vm::VmRun r = oracle::vm::run_in_vm(series_, init_, files, opts_);
        if (!r.completed) {
            std::string tail = r.console_log.size() > 1500 ? r.console_log.substr(r.console_log.size() - 1500) : r.console_log;
            throw std::runtime_error("the " + series_ + " VM run failed: " + r.error + "\n--- console (tail) ---\n" + tail);
        }
        release_ = r.release;
        build_ = "Debian " + r.package + " " + r.version;
        return oracle::parse_vm_lines(r.lines, files, series_).results;
    }
    std::string release() const override { return release_.empty() ? series_ : release_; }
    std::string build() const override { return build_; }
    size_t max_batch() const override { return 100000; }
    std::string version() const override { return series_; }

private:
    std::string series_, init_, release_, build_;
    oracle::vm::VmOptions opts_;
};

}  // namespace

std::unique_ptr<KernelRunner> host_runner(const std::string& oracle, int step_timeout_ms, int jobs) {
    return std::make_unique<HostRunner>(oracle, step_timeout_ms, jobs);
}

std::unique_ptr<KernelRunner> vm_runner(const std::string& series, const std::string& oracle, int step_timeout_ms,
                                        int smp) {
    return std::make_unique<VmRunner>(series, oracle, step_timeout_ms, smp);
}

// ---------------------------------------------------------------- helpers

GenConfig DifftestOptions::difftest_config() {
    GenConfig g;
    // Smaller worlds: each task is a real process (a puppet) and each step a real call plus settling.
    g.limits.max_tasks = 10;
    g.limits.max_names = 24;
    g.limits.max_fds = 8;
    return g;
}

std::string signature_of(const cli::ScenarioDiff& d, const scenario::Scenario& s) {
    auto keys = [](const std::vector<scenario::Mismatch>& ms) {
        std::set<std::string> k;
        for (const auto& m : ms) k.insert(m.key);
        std::string out;
        for (const auto& x : k) out += (out.empty() ? "" : ",") + x;
        return out;
    };
    if (d.model_error.empty() != d.kernel_error.empty()) return d.kernel_error.empty() ? "model-error" : "kernel-error";
    if (!d.steps.empty()) {
        const auto& sd = d.steps.front();
        std::string op = sd.index < s.steps.size() ? scenario::op_name(s.steps[sd.index].op) : "?";
        return op + ":" + keys(sd.diffs);
    }
    if (!d.finals.empty()) return "final:" + keys(d.finals.front().diffs);
    if (!d.expectation_failures.empty()) return "expectation:" + keys(d.expectation_failures.front().second);
    return "other";
}

scenario::Scenario with_kernel_expectations(const scenario::Scenario& s, const scenario::RunResult& k,
                                            const std::string& kernel_field) {
    scenario::Scenario out = s;
    out.kernel = kernel_field;
    for (size_t i = 0; i < out.steps.size(); ++i) {
        if (i < k.steps.size()) {
            auto o = k.steps[i];
            o.rule.clear();
            out.steps[i].expect = o;
        } else {
            out.steps[i].expect.reset();
        }
    }
    out.final.clear();
    for (const auto& name : out.tasks) {
        auto it = k.final.find(name);
        if (it == k.final.end() || it->second.error) continue;
        auto o = it->second;
        o.rule.clear();
        out.final.emplace_back(name, o);
    }
    return out;
}

namespace {

std::string major_minor(const std::string& release) {
    size_t a = release.find('.');
    if (a == std::string::npos) return release;
    size_t b = a + 1;
    while (b < release.size() && std::isdigit(static_cast<unsigned char>(release[b]))) ++b;
    return release.substr(0, b);
}

std::string sanitize(std::string s) {
    for (auto& c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) c = '_';
    while (s.find("__") != std::string::npos) s.replace(s.find("__"), 2, "_");
    while (!s.empty() && s.back() == '_') s.pop_back();
    return s;
}

std::string show(const scenario::Observation& o) {
    std::string s = scenario::describe_observation(o);
    return s.empty() ? "(nothing)" : s;
}

// Writes scenarios as numbered files into `dir`; returns the paths.
std::vector<std::string> write_files(const std::string& dir, const std::string& prefix,
                                     const std::vector<scenario::Scenario>& ss) {
    std::vector<std::string> out;
    for (size_t i = 0; i < ss.size(); ++i) {
        char name[64];
        snprintf(name, sizeof name, "%s-%05zu.json", prefix.c_str(), i);
        std::string path = dir + "/" + name;
        std::ofstream(path) << scenario::to_json(ss[i]).dump() << "\n";
        out.push_back(path);
    }
    return out;
}

struct TempDir {
    std::string path;
    bool keep = false;
    explicit TempDir(const std::string& keep_dir) {
        if (!keep_dir.empty()) {
            fs::create_directories(keep_dir);
            path = keep_dir;
            keep = true;
            return;
        }
        std::string tmpl = (fs::temp_directory_path() / "pidlab-difftest.XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path = tmpl;
    }
    ~TempDir() {
        if (!keep) {
            std::error_code ec;
            fs::remove_all(path, ec);
        }
    }
};

}  // namespace

// ---------------------------------------------------------------- difftest

DifftestResult difftest(KernelRunner& kernel, const CompareFn& compare, const DifftestOptions& o) {
    using clock = std::chrono::steady_clock;
    auto secs = [](clock::time_point a) { return std::chrono::duration<double>(clock::now() - a).count(); };
    auto log = [&](const std::string& l) {
        if (o.log) o.log(l);
    };
    const auto t_start = clock::now();
    DifftestResult res;
    auto prof = model::find_profile(kernel.version());
    if (!prof) throw std::runtime_error("no model profile matches kernel " + kernel.version());
    res.profile = prof->describe();
    TempDir tmp(o.keep_dir);
    const size_t batch = o.batch ? o.batch : kernel.max_batch();

    // 1. generate in the model
    auto t_model = clock::now();
    std::vector<scenario::Scenario> scenarios;
    scenarios.reserve(o.cases);
    for (uint64_t i = 0; i < o.cases; ++i) {
        World w(*prof, o.gen.limits);
        FastChooser ch(case_seed(o.seed, i));
        if (o.allow_races) w.run_random(o.gen, ch, o.steps);
        else w.run_random_race_free(o.gen, ch, o.steps);
        char name[48];
        snprintf(name, sizeof name, "difftest_%06llu", static_cast<unsigned long long>(i));
        auto s = w.scenario(name);
        res.steps += s.steps.size();
        scenarios.push_back(std::move(s));
    }
    res.model_seconds += secs(t_model);
    log("difftest: generated " + std::to_string(o.cases) + " scenarios (" + std::to_string(res.steps) +
        " steps) for model profile " + prof->describe());

    // 2. run them on the kernel in batches, and compare
    struct Hit {
        uint64_t index;
        cli::ScenarioDiff diff;
    };
    std::map<std::string, std::vector<Hit>> by_sig;
    std::vector<std::string> sig_order;
    for (size_t b = 0; b < scenarios.size(); b += batch) {
        std::vector<scenario::Scenario> part(scenarios.begin() + b, scenarios.begin() + std::min(scenarios.size(), b + batch));
        auto files = write_files(tmp.path, "case-" + std::to_string(b), part);
        for (size_t i = 0; i < part.size(); ++i) part[i].file = files[i];
        auto t_k = clock::now();
        auto results = kernel.run(files);
        res.kernel_seconds += secs(t_k);
        res.kernel_runs++;
        auto t_m = clock::now();
        auto rep = compare(part, results, kernel.release(), kernel.build());
        res.model_seconds += secs(t_m);
        res.release = rep.release;
        res.build = rep.build;
        res.profile = rep.profile;
        for (size_t i = 0; i < rep.scenarios.size(); ++i) {
            const auto& d = rep.scenarios[i];
            if (d.agree) continue;
            res.disagreeing_cases++;
            std::string sig = signature_of(d, part[i]);
            if (!by_sig.count(sig)) sig_order.push_back(sig);
            by_sig[sig].push_back({b + i, d});
        }
        res.cases += part.size();
        log("difftest: " + std::to_string(res.cases) + "/" + std::to_string(o.cases) + " scenarios run on " +
            kernel.release() + " (" + kernel.build() + "), " + std::to_string(res.disagreeing_cases) +
            " disagreeing, " + std::to_string(by_sig.size()) + " distinct");
    }

    // 3. shrink one case of each signature on the kernel
    const std::string kernel_field = major_minor(res.release.empty() ? kernel.release() : res.release);
    size_t shrunk_count = 0;
    for (const auto& sig : sig_order) {
        const auto& hits = by_sig[sig];
        const auto& first = hits.front();
        Disagreement dis;
        dis.case_index = first.index;
        dis.seed = case_seed(o.seed, first.index);
        dis.signature = sig;
        dis.same_signature = hits.size();
        dis.found = scenarios[first.index];
        dis.diff = first.diff;
        scenario::Scenario cur = dis.found;
        size_t round = 0;
        // Runs candidates on the kernel; a candidate fails when it disagrees with the same signature.
        auto run_batch = [&](const std::vector<scenario::Scenario>& cs, std::vector<scenario::RunResult>* out_res,
                             std::vector<cli::ScenarioDiff>* out_diff) {
            std::vector<scenario::Scenario> named = cs;
            auto files = write_files(tmp.path, "shrink-" + std::to_string(shrunk_count) + "-" + std::to_string(round++), named);
            for (size_t i = 0; i < named.size(); ++i) named[i].file = files[i];
            auto results = kernel.run(files);
            res.kernel_runs++;
            auto rep = compare(named, results, kernel.release(), kernel.build());
            if (out_res) *out_res = results;
            if (out_diff) *out_diff = rep.scenarios;
            std::vector<bool> fails;
            for (size_t i = 0; i < rep.scenarios.size(); ++i)
                fails.push_back(!rep.scenarios[i].agree && signature_of(rep.scenarios[i], named[i]) == sig);
            return fails;
        };
        if (o.shrink && shrunk_count < o.max_shrinks) {
            ShrinkOptions so;
            so.max_batch = std::min<size_t>(batch, 64);
            so.max_tests = o.max_shrink_rounds * so.max_batch;
            so.race_free = !o.allow_races;
            ShrinkStats st;
            BatchPredicate pred = [&](const std::vector<scenario::Scenario>& cs) {
                if (st.rounds >= o.max_shrink_rounds) return std::vector<bool>(cs.size(), false);
                return run_batch(cs, nullptr, nullptr);
            };
            cur = shrink(dis.found, *prof, pred, so, &st);
            dis.shrink_rounds = st.rounds;
            log("difftest: shrank " + sig + " from " + std::to_string(dis.found.steps.size()) + " to " +
                std::to_string(cur.steps.size()) + " steps in " + std::to_string(st.rounds) + " kernel runs");
        }
        ++shrunk_count;
        // The shrunk scenario, run twice more: its observations become its expectations.
        std::vector<scenario::RunResult> kres;
        std::vector<cli::ScenarioDiff> kdiff;
        auto again = run_batch({cur, cur}, &kres, &kdiff);
        dis.reproducible = again.size() == 2 && again[0] && again[1];
        if (!kdiff.empty()) dis.diff = kdiff.front();
        char nm[64];
        snprintf(nm, sizeof nm, "%06llu", static_cast<unsigned long long>(dis.case_index));
        cur.name = sanitize("difftest_" + kernel_field + "_" + sig) + "_" + nm;
        cur.file = cur.name + ".json";
        std::ostringstream desc;
        desc << "pidlab difftest on " << kernel.release() << " (" << kernel.build() << ", model profile " << res.profile
             << "), seed " << o.seed << " case " << dis.case_index << ", shrunk from " << dis.found.steps.size()
             << " steps. The model disagrees with the kernel";
        if (!dis.diff.steps.empty()) {
            const auto& sd = dis.diff.steps.front();
            desc << " at step " << sd.index;
            if (sd.index < cur.steps.size()) desc << " (" << scenario::describe_step(cur.steps[sd.index]) << ")";
            desc << ": model " << show(sd.model) << "; kernel " << show(sd.kernel) << ".";
        } else if (!dis.diff.finals.empty()) {
            const auto& fd = dis.diff.finals.front();
            desc << " about task " << fd.index_name << " at the end: model " << show(fd.model) << "; kernel "
                 << show(fd.kernel) << ".";
        } else {
            desc << ": " << (dis.diff.kernel_error.empty() ? dis.diff.model_error : dis.diff.kernel_error) << ".";
        }
        desc << " Expectations: the kernel's observations.";
        if (!dis.reproducible) desc << " (Not reproducible on every run.)";
        cur.description = desc.str();
        dis.shrunk = kres.empty() ? cur : with_kernel_expectations(cur, kres.front(), kernel_field);
        if (!o.out_dir.empty()) {
            fs::create_directories(o.out_dir);
            dis.file = o.out_dir + "/" + dis.shrunk.file;
            std::ofstream(dis.file) << scenario::to_json(dis.shrunk).dump(2) << "\n";
        }
        res.disagreements.push_back(std::move(dis));
    }
    res.seconds = secs(t_start);
    return res;
}

}  // namespace pidlab::prop
